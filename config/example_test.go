package config_test

import (
	"fmt"

	"github.com/zappy-mon/zappy/config"
)

// Every problem of a file comes back at once, in line order, naming the
// file, the line, the monitor and the field.
func ExampleParse() {
	_, err := config.Parse("site.yaml", []byte(`site:
  name: HomeLab
monitors:
  - type: htp
    name: web
    address: https://example.com/
  - type: ping
    name: gw
    address: 192.168.1.1
    chek_every_n_secs: 30
    notify_every_n_secs: 10
  - type: tcp
    name: db
    address: tcp://db.example.com:5432
    depends: gateway
    assert: connect_ms <
`))
	fmt.Println(err)
	// Output:
	// site.yaml:4: monitor "web": type: unknown type "htp" (did you mean http?)
	// site.yaml:10: monitor "gw": chek_every_n_secs: unknown field (did you mean check_every_n_secs?)
	// site.yaml:15: monitor "db": depends: no monitor named "gateway"
	// site.yaml:16: monitor "db": assert[0]: "connect_ms <": unexpected token EOF (1:12)
}

// Effective values are resolved: the monitor's own field, else the site's,
// else the default.
func ExampleParse_effectiveValues() {
	cfg, err := config.Parse("homelab.yaml", []byte(`site:
  check_every_n_secs: 30
monitors:
  - {type: ping, name: gw, address: 192.168.1.1}
  - {type: http, name: web, address: "https://example.com/", every: 1m30s, timeout: 2500ms}
  - {type: tcp, name: db, address: "tcp://db:5432", cron: "@hourly", jitter: 5m}
`))
	if err != nil {
		panic(err)
	}
	fmt.Println("site:", cfg.Site.Name)
	for _, m := range cfg.Monitors {
		fmt.Println(m.Name, m.CheckEvery, m.Cron, m.Jitter, m.MaxTry, m.NotifyEvery)
	}
	// Output:
	// site: homelab
	// gw 30s  0s 20s 10m0s
	// web 1m30s  0s 2.5s 10m0s
	// db 0s @hourly 5m0s 20s 10m0s
}
