package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	cfg, err := Parse("site.yaml", []byte(`site:
  name: HomeLab
  max_retries: 2
  max_try_secs: 5
monitors:
  - type: tcp
    name: smtp-server
    address: "tcp://mail.example.com:25"
    send: "EHLO apmonitor\r\n"
    expect: "250"
  - type: http
    name: web
    address: https://example.com/
    max_try_secs: 9
    assert: code == 200
    degraded_if: [latency_ms > 500]
    allow: ["*.cdn.example.com"]
  - type: smtp
    name: custom
    address: tcp://mx:25
    module: checks/smtp.wasm
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.Name != "HomeLab" || len(cfg.Monitors) != 3 {
		t.Fatalf("%+v", cfg)
	}
	tcp, web, custom := cfg.Monitors[0], cfg.Monitors[1], cfg.Monitors[2]
	if tcp.MaxRetries != 2 || tcp.MaxTry != 5*time.Second || tcp.Line != 6 || tcp.Lines["expect"] != 10 || tcp.Fields["send"] != "EHLO apmonitor\r\n" {
		t.Fatalf("tcp %+v", tcp)
	}
	if web.MaxTry != 9*time.Second || len(web.Assert) != 1 || len(web.DegradedIf) != 1 || web.Allow[0] != "*.cdn.example.com" || web.Assertions.Empty() {
		t.Fatalf("web %+v", web)
	}
	if custom.Module != "checks/smtp.wasm" {
		t.Fatalf("module %q", custom.Module)
	}
	if got := string(tcp.ConfigJSON()); !strings.Contains(got, `"expect":"250"`) {
		t.Fatalf("config json %s", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"syntax", "monitors:\n  - type: http\n   name: x\n", []string{"site.yaml:3: YAML syntax error"}},
		{"empty", "", []string{"site.yaml: the file is empty"}},
		{"not a mapping", "- a\n- b\n", []string{"site.yaml:1: the top level must be a mapping"}},
		{"no monitors", "site:\n  name: x\n", []string{"site.yaml:1: monitors: missing"}},
		{"unknown top level", "sites: {}\nmonitors: []\n", []string{"site.yaml:1: sites: unknown top-level key"}},
		{"monitors not a list", "monitors: {a: 1}\n", []string{"site.yaml:1: monitors: must be a list"}},
		{"missing fields", "monitors:\n  - name: a\n", []string{`site.yaml:2: monitor "a": type: missing (required)`, `site.yaml:2: monitor "a": address: missing (required)`}},
		{"unnamed", "monitors:\n  - type: http\n    address: http://x\n", []string{`site.yaml:2: monitor "#1": name: missing (required)`}},
		{"duplicate", "monitors:\n  - {type: ping, name: a, address: x}\n  - {type: ping, name: a, address: y}\n", []string{`site.yaml:3: monitor "a": name: duplicate monitor name (first used on line 2)`}},
		{"bad assert", "monitors:\n  - type: http\n    name: w\n    address: http://x\n    assert:\n      - code == 200\n      - code ==\n", []string{`site.yaml:5: monitor "w": assert[1]: "code ==": unexpected token EOF`}},
		{"bad retries", "monitors:\n  - {type: ping, name: a, address: x, max_retries: 0}\n", []string{`site.yaml:2: monitor "a": max_retries: must be an integer ≥ 1 (got 0)`}},
		{"bad site timeout", "site:\n  max_try_secs: soon\nmonitors: []\n", []string{"site.yaml:2: max_try_secs: must be an integer ≥ 1 (got soon)"}},
		{"name not string", "monitors:\n  - {type: ping, name: [a], address: x}\n", []string{"name: must be a non-empty string"}},
		{"duplicate key", "monitors:\n  - type: ping\n    name: a\n    address: x\n    address: y\n", []string{`site.yaml:5: monitor "a": address: set twice (also on line 4)`}},
		{"assert list item", "monitors:\n  - {type: ping, name: a, address: x, assert: [1]}\n", []string{`monitor "a": assert[0]: must be a string`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("site.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain:\n%s", err, w)
				}
			}
		})
	}
}

func TestAdHoc(t *testing.T) {
	m, err := AdHoc("http", "http://x", map[string]any{"expect": "ok"}, []string{"code == 200"}, nil, 1500*time.Millisecond, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "http http://x" || m.MaxTry != 1500*time.Millisecond || m.MaxRetries != 2 || m.Fields["expect"] != "ok" || m.Line != 0 {
		t.Fatalf("%+v", m)
	}
}

// FuzzParse: the loader never panics and errors always name the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte("monitors:\n  - {type: ping, name: a, address: x}\n"))
	f.Add([]byte("site: {name: x}\nmonitors: [{type: http, name: w, address: 'http://x', assert: ['code == 200']}]\n"))
	f.Add([]byte("monitors:\n  - type: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		for _, m := range cfg.Monitors {
			if m.Name == "" || m.Type == "" || m.Address == "" {
				t.Fatalf("accepted incomplete monitor %+v", m)
			}
		}
	})
}
