package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, yaml string) *Config {
	t.Helper()
	cfg, err := Parse("site.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("%v", err)
	}
	return cfg
}

func TestParseValid(t *testing.T) {
	cfg := mustParse(t, `site:
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
    helo: zappy.example.com
`)
	if cfg.Site.Name != "HomeLab" || len(cfg.Monitors) != 3 {
		t.Fatalf("%+v", cfg)
	}
	tcp, web, custom := cfg.Monitors[0], cfg.Monitors[1], cfg.Monitors[2]
	if tcp.MaxRetries != 2 || tcp.MaxTry != 5*time.Second || tcp.Line != 6 || tcp.Lines["expect"] != 10 || tcp.Fields["send"] != "EHLO apmonitor\r\n" {
		t.Fatalf("tcp %+v", tcp)
	}
	if web.MaxTry != 9*time.Second || !reflect.DeepEqual(web.Assert, []string{"code == 200"}) || !reflect.DeepEqual(web.DegradedIf, []string{"latency_ms > 500"}) ||
		!reflect.DeepEqual(web.Allow, []string{"*.cdn.example.com"}) || web.Assertions.Empty() {
		t.Fatalf("web %+v", web)
	}
	if custom.Module != "checks/smtp.wasm" || custom.Fields["helo"] != "zappy.example.com" {
		t.Fatalf("module %q, fields %v", custom.Module, custom.Fields)
	}
	if got, want := string(tcp.ConfigJSON()), `{"address":"tcp://mail.example.com:25","expect":"250","name":"smtp-server","send":"EHLO apmonitor\r\n","type":"tcp"}`; got != want {
		t.Fatalf("config json\n got %s\nwant %s", got, want)
	}
}

// TestDefaults: a bare file gets APMonitor's defaults, zappy's max_threads
// and the file stem as the site name.
func TestDefaults(t *testing.T) {
	cfg, err := Parse("/etc/zappy/home-lab.yaml", []byte("monitors:\n  - {type: ping, name: gw, address: 192.168.1.1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Site
	want := Site{Name: "home-lab", Timezone: time.Local, MaxThreads: 64, MaxRetries: 3, MaxTry: 20 * time.Second,
		CheckEvery: time.Minute, NotifyEvery: 10 * time.Minute, AfterEveryN: 1, Alarms: true,
		FailuresBeforeOutage: 1, SuccessesBeforeRecovery: 1, FlapWindow: 20, FlapChanges: 6,
		HistoryRetention: 168 * time.Hour, PruneRemovedAfter: 24 * time.Hour,
		Fields: map[string]any{}, Lines: map[string]int{}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("site\n got %+v\nwant %+v", s, want)
	}
	m := cfg.Monitors[0]
	if m.CheckEvery != time.Minute || m.NotifyEvery != 10*time.Minute || m.AfterEveryN != 1 || m.MaxRetries != 3 || m.MaxTry != 20*time.Second ||
		!m.Email || !m.Display || !m.Alarms || m.HeartbeatEvery != 0 || m.Schedule != nil || m.Jitter != 0 ||
		m.FailuresBeforeOutage != 1 || m.SuccessesBeforeRecovery != 1 || m.FlapWindow != 20 || m.FlapChanges != 6 {
		t.Fatalf("monitor %+v", m)
	}
}

// TestOverrides: monitor fields override the site's, which override the
// defaults; the aliases (every, notify_every, ...) mean the same.
func TestOverrides(t *testing.T) {
	cfg := mustParse(t, `site:
  max_threads: 4
  max_retries: 2
  max_try_secs: 7
  check_every_n_secs: 30
  notify_every_n_secs: 900
  after_every_n_notifications: 3
  alarms: off
  failures_before_outage: 2
  successes_before_recovery: 4
  flap_window: 12
  flap_changes: 5
monitors:
  - {type: ping, name: inherits, address: 192.168.1.1}
  - type: ping
    name: own
    address: 192.168.1.2
    check_every_n_secs: 10
    notify_every_n_secs: 120
    after_every_n_notifications: 6
    max_retries: 5
    max_try_secs: 3
    alarms: "ON"
    email: 0
    display: "No"
    heartbeat_url: https://hc-ping.com/x
    heartbeat_every_n_secs: 300
    failures_before_outage: 1
    successes_before_recovery: 1
    flap_window: 2
    flap_changes: 1
  - type: ping
    name: durations
    address: 192.168.1.3
    every: 1m30s
    notify_every: 2h
    heartbeat_url: https://hc-ping.com/y
    heartbeat_every: 45
    timeout: 750ms
`)
	type eff struct {
		CheckEvery, NotifyEvery, MaxTry, HeartbeatEvery time.Duration
		AfterEveryN, MaxRetries, Failures, Successes    int
		FlapWindow, FlapChanges                         int
		Alarms, Email, Display                          bool
	}
	got := func(m *Monitor) eff {
		return eff{m.CheckEvery, m.NotifyEvery, m.MaxTry, m.HeartbeatEvery, m.AfterEveryN, m.MaxRetries,
			m.FailuresBeforeOutage, m.SuccessesBeforeRecovery, m.FlapWindow, m.FlapChanges, m.Alarms, m.Email, m.Display}
	}
	tests := []eff{
		{30 * time.Second, 15 * time.Minute, 7 * time.Second, 0, 3, 2, 2, 4, 12, 5, false, true, true},
		{10 * time.Second, 2 * time.Minute, 3 * time.Second, 5 * time.Minute, 6, 5, 1, 1, 2, 1, true, false, false},
		{90 * time.Second, 2 * time.Hour, 750 * time.Millisecond, 45 * time.Second, 3, 2, 2, 4, 12, 5, false, true, true},
	}
	for i, want := range tests {
		if g := got(cfg.Monitors[i]); g != want {
			t.Errorf("%s:\n got %+v\nwant %+v", cfg.Monitors[i].Name, g, want)
		}
	}
	if cfg.Site.MaxThreads != 4 || cfg.Monitors[1].HeartbeatURL != "https://hc-ping.com/x" {
		t.Errorf("site %+v", cfg.Site)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // the whole error
	}{
		{"empty", "", "site.yaml: the file is empty"},
		{"only a comment", "# nothing\n", "site.yaml: the file is empty"},
		{"syntax", "monitors:\n  - type: http\n   name: x\n", "site.yaml:3: YAML syntax error: did not find expected '-' indicator"},
		{"no monitors", "site:\n  name: x\n", "site.yaml:1: monitors: missing (required)"},
		{"null site", "site:\nmonitors:\n  - {type: ping, name: a, address: x}\n", "site.yaml:1: site: must be a mapping"},
		{"unnamed", "monitors:\n  - type: http\n    address: http://x\n", `site.yaml:2: monitor "#1": name: missing (required)`},
		{"name not string", "monitors:\n  - {type: ping, name: [a], address: x}\n", `site.yaml:2: monitor "#1": name: must be a non-empty string (got a list)`},
		{"bad retries", "monitors:\n  - {type: ping, name: a, address: x, max_retries: 0}\n", `site.yaml:2: monitor "a": max_retries: must be an integer ≥ 1 (got 0)`},
		{"assert list item", "monitors:\n  - {type: ping, name: a, address: x, assert: [1]}\n", `site.yaml:2: monitor "a": assert[0]: must be a non-empty string (got 1)`},
		{"assert empty", "monitors:\n  - {type: ping, name: a, address: x, assert: ''}\n", `site.yaml:2: monitor "a": assert: must be a non-empty string or a list of them`},
		{"tabs", "monitors:\n\t- {type: ping, name: a, address: x}\n", "site.yaml:2: YAML syntax error: found character that cannot start any token"},
		{"key not a name", "monitors:\n  - {[a]: 1, type: ping, name: a, address: x}\n", `site.yaml:2: monitor "a": keys must be plain names, not lists or mappings`},
		{"alias to nothing", "monitors:\n  - {type: ping, name: a, address: *x}\n", "site.yaml:2: YAML syntax error: unknown anchor 'x' referenced"},
		{"non-finite", "monitors:\n  - {type: ping, name: a, address: x, count: .inf}\n", `site.yaml:2: monitor "a": count: must be a finite number (got +Inf)`},
		{"seconds beyond a duration", "monitors:\n  - {type: ping, name: a, address: x, check_every_n_secs: 18446744074}\n", `site.yaml:2: monitor "a": check_every_n_secs: must be an integer from 1 to 9223372036 (got 18446744074)`},
		{"duration seconds too large", "monitors:\n  - {type: ping, name: a, address: x, every: 9223372037}\n", `site.yaml:2: monitor "a": every: must be at most 9223372036 seconds (got 9223372037)`},
		{"timeout under a millisecond", "monitors:\n  - {type: ping, name: a, address: x, timeout: 1ns}\n", `site.yaml:2: monitor "a": timeout: must be at least 1ms (got "1ns")`},
		{"name with a line break", "monitors:\n  - {type: ping, name: \"a\\nb\", address: x}\n", `site.yaml:2: monitor "a\nb": name: must be one line of text, without line breaks or control characters (got "a\nb")`},
		{"module type on non-module", "monitors:\n  - {type: smtp, name: a, address: x, helo: y}\n", `site.yaml:2: monitor "a": type: unknown type "smtp" (did you mean http?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("site.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// manyMonitors is a valid monitors list of n monitors, 4 lines each after
// the first line.
func manyMonitors(n int) string {
	var b strings.Builder
	b.WriteString("monitors:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - type: tcp\n    name: m%d\n    address: tcp://127.0.0.1:%d\n    timeout: 1s\n", i, 1000+i)
	}
	return b.String()
}

// TestSyntaxErrorLineInLargeFile: the offending line of a syntax error is
// found wherever it is in a long file (yaml.v3 itself names the line where
// the enclosing collection began: line 1 here).
func TestSyntaxErrorLineInLargeFile(t *testing.T) {
	const n = 2500 // 10,001 lines
	tests := []struct {
		name   string
		insert string // a bad line inserted after monitor `at`: line 4*(at+1)+2
		at     int
		want   string
	}{
		{"bad indent near the end", "   name: x\n", n - 2, "site.yaml:9998: YAML syntax error: did not find expected '-' indicator"},
		{"bad indent near the start", "   name: x\n", 0, "site.yaml:6: YAML syntax error: did not find expected '-' indicator"},
		{"tab in the middle", "\t- {type: ping}\n", n / 2, "site.yaml:5006: YAML syntax error: found a tab character that violates indentation"},
		{"control character at the end", "  - \x10\n", n, "site.yaml:10002: YAML syntax error: control characters are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.SplitAfter(manyMonitors(n), "\n")
			cut := 1 + 4*(tt.at+1)
			if tt.at == n {
				cut = 1 + 4*n
			}
			doc := strings.Join(lines[:cut], "") + tt.insert + strings.Join(lines[cut:], "")
			_, err := Parse("site.yaml", []byte(doc))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// BenchmarkSyntaxErrorLine: a 10,001-line file with a syntax error near its
// end (each prefix tried in turn, this took minutes).
func BenchmarkSyntaxErrorLine(b *testing.B) {
	lines := strings.SplitAfter(manyMonitors(2500), "\n")
	doc := []byte(strings.Join(lines[:9997], "") + "   name: x\n" + strings.Join(lines[9997:], ""))
	for b.Loop() {
		if _, err := Parse("site.yaml", doc); err == nil {
			b.Fatal("no error")
		}
	}
}

// TestAPMonitorExample: the README's complete example loads with the
// documented effective values, and its JSON twin loads the same.
func TestAPMonitorExample(t *testing.T) {
	y, err := Load("testdata/good/apmonitor-readme.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := y.Site
	if s.Name != "HomeLab" || s.MaxThreads != 1 || s.MaxRetries != 3 || s.MaxTry != 20*time.Second || s.CheckEvery != time.Minute ||
		s.NotifyEvery != 10*time.Minute || s.AfterEveryN != 1 || !s.Alarms {
		t.Errorf("site %+v", s)
	}
	wantEmail := &EmailServer{Host: "smtp.gmail.com", Port: 587, Username: "alerts@example.com", Password: "app_password_here",
		From: "alerts@example.com", TLS: "starttls", VerifyTLS: true, Line: 6}
	if !reflect.DeepEqual(s.Email, wantEmail) {
		t.Errorf("email server %+v", s.Email)
	}
	wantTo := []EmailRecipient{
		{Email: "admin@example.com", Outages: true, Recoveries: true, Reminders: true, Line: 14},
		{Email: "manager@example.com", Outages: true, Recoveries: true, Reminders: false, Line: 18},
	}
	if !reflect.DeepEqual(s.OutageEmails, wantTo) {
		t.Errorf("outage emails %+v", s.OutageEmails)
	}
	if len(s.Notifiers) != 1 || s.Notifiers[0].Type != "webhook" || s.Notifiers[0].Name != "webhook-1" ||
		s.Notifiers[0].Fields["request_prefix"] != "token=your_app_token&user=your_user_key&message=" || !s.Notifiers[0].Reminders {
		t.Errorf("notifiers %+v", s.Notifiers)
	}
	type eff struct {
		Name, Type                    string
		CheckEvery, Notify, Heartbeat time.Duration
		AfterN                        int
		Email, Display                bool
	}
	want := []eff{
		{"switch-port0", "port", 10 * time.Second, time.Minute, 0, 6, true, false},
		{"office-switch", "ports", 10 * time.Second, time.Hour, 0, 1, true, true},
		{"debmon-host", "host", 5 * time.Minute, 10 * time.Minute, 0, 1, true, true},
		{"smtp-server", "tcp", time.Minute, 10 * time.Minute, 0, 1, true, true},
		{"mysql-db", "tcp", 30 * time.Second, 10 * time.Minute, 0, 1, true, true},
		{"custom-protocol", "udp", time.Minute, 10 * time.Minute, 0, 1, true, true},
		{"syslog-collector", "udp", 5 * time.Minute, 10 * time.Minute, 0, 1, true, true},
		{"home-fw", "ping", time.Minute, 10 * time.Minute, 5 * time.Minute, 1, true, true},
		{"in3245622", "http", 2 * time.Minute, time.Hour, 0, 5, true, true},
		{"json-api", "http", time.Minute, 10 * time.Minute, 0, 1, true, true},
		{"nvr0", "http", time.Minute, 10 * time.Minute, time.Minute, 1, false, true},
		{"fast-api", "quic", 30 * time.Second, 10 * time.Minute, 0, 1, true, true},
	}
	if len(y.Monitors) != len(want) {
		t.Fatalf("%d monitors", len(y.Monitors))
	}
	for i, m := range y.Monitors {
		if g := (eff{m.Name, m.Type, m.CheckEvery, m.NotifyEvery, m.HeartbeatEvery, m.AfterEveryN, m.Email, m.Display}); g != want[i] {
			t.Errorf("monitor %d:\n got %+v\nwant %+v", i, g, want[i])
		}
	}
	if got := y.Monitors[0].Fields["mac"]; got != "18:E8:29:45:F8:F7" {
		t.Errorf("mac %v", got)
	}

	j, err := Load("testdata/good/apmonitor-readme.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := range y.Monitors {
		a, b := y.Monitors[i], j.Monitors[i]
		if a.Checksum != b.Checksum || !reflect.DeepEqual(a.Fields, b.Fields) || a.CheckEvery != b.CheckEvery || a.NotifyEvery != b.NotifyEvery {
			t.Errorf("%s: YAML and JSON differ:\n%v\n%v", a.Name, a.Fields, b.Fields)
		}
	}
	if !reflect.DeepEqual(y.Site.Fields, j.Site.Fields) || !reflect.DeepEqual(y.Site.OutageEmails[0].Email, j.Site.OutageEmails[0].Email) {
		t.Errorf("site fields differ:\n%v\n%v", y.Site.Fields, j.Site.Fields)
	}
}

// TestExtensions: zappy's own fields in testdata/good/zappy-full.yaml.
func TestExtensions(t *testing.T) {
	cfg, err := Load("testdata/good/zappy-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Site
	if s.Name != "Lab West" || s.Timezone.String() != "Europe/Berlin" || s.FailuresBeforeOutage != 2 || s.SuccessesBeforeRecovery != 3 ||
		s.FlapWindow != 10 || s.FlapChanges != 4 || s.HistoryRetention != 720*time.Hour || s.PruneRemovedAfter != 2*time.Hour ||
		s.Report == nil || s.Report.Every != 24*time.Hour || s.Report.Line != 19 {
		t.Errorf("site %+v", s)
	}
	if s.Email.TLS != "implicit" || s.Email.Password != "change-me" || len(s.OutageEmails) != 2 || s.OutageEmails[1].Reminders {
		t.Errorf("email %+v %+v", s.Email, s.OutageEmails)
	}
	var names []string
	for _, n := range s.Notifiers {
		names = append(names, n.Name+"/"+n.Type)
	}
	if want := "webhook-1/webhook slack-1/slack teams-1/teams gamers/discord pushover-1/pushover ntfy-1/ntfy pagerduty-1/pagerduty alertmanager-1/alertmanager webhook-2/webhook"; strings.Join(names, " ") != want {
		t.Errorf("notifiers %s", strings.Join(names, " "))
	}
	if n := s.Notifiers[2]; n.Reminders || !n.Outages || n.Line != 42 || n.Lines["reminders"] != 44 {
		t.Errorf("teams %+v", n)
	}
	if n := s.Notifiers[1]; n.Fields["webhook_url"] != "https://hooks.slack.com/services/T000/B000/XXXX" {
		t.Errorf("slack %+v", n.Fields)
	}
	by := map[string]*Monitor{}
	for _, m := range cfg.Monitors {
		by[m.Name] = m
	}
	web := by["web"]
	if web.Type != "http" || web.CheckEvery != 90*time.Second || web.NotifyEvery != 15*time.Minute || web.AfterEveryN != 4 ||
		web.HeartbeatEvery != 5*time.Minute || web.MaxTry != 2500*time.Millisecond || web.MaxRetries != 1 ||
		!reflect.DeepEqual(web.Depends, []string{"gateway"}) || len(web.Assert) != 2 || web.Lines["<<"] != 0 || web.Lines["type"] != 94 || web.Lines["name"] != 95 {
		t.Errorf("web %+v", web)
	}
	if got := web.Fields["expect_status"]; !reflect.DeepEqual(got, []any{200, 204}) {
		t.Errorf("merged expect_status %v", got)
	}
	gw := by["gateway"]
	if gw.CheckEvery != 10*time.Second || gw.Jitter != 2*time.Second || gw.Description != "the LAN's way out" {
		t.Errorf("gateway %+v", gw)
	}
	h3 := by["h3"]
	if h3.Cron != "*/5 * * * *" || h3.Schedule == nil || h3.CheckEvery != 0 || h3.Jitter != 30*time.Second || h3.FlapChanges != 0 || h3.FailuresBeforeOutage != 3 {
		t.Errorf("h3 %+v", h3)
	}
	// Cron runs in the site's time zone unless the spec names one.
	from := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	if next := h3.Schedule.Next(from); !next.Equal(from.Add(5 * time.Minute)) {
		t.Errorf("h3 next %v", next)
	}
	if next := by["mail-cert"].Schedule.Next(from); !next.Equal(time.Date(2026, 1, 10, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("@daily in Europe/Berlin: next %v", next.UTC())
	}
	if next := by["smtp"].Schedule.Next(from); !next.Equal(time.Date(2026, 1, 11, 6, 30, 0, 0, time.UTC)) {
		t.Errorf("CRON_TZ=UTC: next %v", next.UTC())
	}
	if sm := by["smtp"]; sm.Alarms || sm.Email || sm.Display {
		t.Errorf("smtp flags %+v", sm)
	}
	if m := by["mx-dialog"]; m.Module != filepath.Join("testdata/good", "../../../examples/smtp-check/smtp-check.wasm") || m.Fields["starttls"] != true {
		t.Errorf("module monitor %+v", m)
	}
	if m := by["core-switch"]; m.Fields["auth_passphrase"] != "authpass123" || m.Fields["version"] != 3 {
		t.Errorf("snmp v3 %+v", m.Fields)
	}
}

func TestEmailTLS(t *testing.T) {
	tests := []struct {
		fields string
		want   string
	}{
		{"smtp_port: 587", "starttls"},
		{"smtp_port: 465", "implicit"},
		{"smtp_port: 25\n    use_tls: false", "none"},
		{"smtp_port: 465\n    use_tls: no", "none"},
		{"smtp_port: 2525\n    tls: implicit", "implicit"},
		{"smtp_port: 465\n    use_tls: true\n    tls: starttls", "starttls"},
		{"smtp_port: 25\n    use_tls: false\n    tls: none", "none"},
	}
	for _, tt := range tests {
		cfg := mustParse(t, "site:\n  email_server:\n    smtp_host: mx\n    from_address: a@example.com\n    "+tt.fields+"\nmonitors:\n  - {type: ping, name: a, address: x}\n")
		if got := cfg.Site.Email.TLS; got != tt.want {
			t.Errorf("%q: TLS %q, want %q", tt.fields, got, tt.want)
		}
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, testCA(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte("site:\n  email_server:\n    smtp_host: mx\n    smtp_port: 587\n    from_address: a@example.com\n    ca_file: ca.pem\n    verify_tls: false\nmonitors:\n  - {type: ping, name: a, address: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(filepath.Join(dir, "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.Email.CAFile != ca || cfg.Site.Email.VerifyTLS {
		t.Errorf("%+v", cfg.Site.Email)
	}
	if err := os.WriteFile(ca, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(filepath.Join(dir, "site.yaml"))
	if want := filepath.Join(dir, "site.yaml") + ":6: site.email_server.ca_file: " + ca + " holds no PEM certificate"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestNotifierDefaults: names count per type, flags default to true.
func TestNotifierDefaults(t *testing.T) {
	cfg := mustParse(t, `site:
  outage_webhooks:
    - {endpoint_url: "https://a.example.com/", request_method: GET, request_encoding: URL}
  notifiers:
    - {type: webhook, endpoint_url: "https://b.example.com/", request_method: POST, request_encoding: CSVQUOTED, outages: false}
    - {type: ntfy, url: "https://ntfy.sh/t", reminders: "no"}
    - {type: ntfy, name: second, url: "https://ntfy.sh/u", recoveries: 0}
monitors:
  - {type: ping, name: a, address: x}
`)
	type flags struct {
		Name, Type                     string
		Outages, Recoveries, Reminders bool
		Line                           int
	}
	var got []flags
	for _, n := range cfg.Site.Notifiers {
		got = append(got, flags{n.Name, n.Type, n.Outages, n.Recoveries, n.Reminders, n.Line})
	}
	want := []flags{
		{"webhook-1", "webhook", true, true, true, 3},
		{"webhook-2", "webhook", false, true, true, 5},
		{"ntfy-1", "ntfy", true, true, false, 6},
		{"second", "ntfy", true, false, true, 7},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
}

func TestDependsAndCron(t *testing.T) {
	cfg := mustParse(t, `site:
  timezone: UTC
monitors:
  - {type: ping, name: a, address: x, depends: [b, c]}
  - {type: ping, name: b, address: y, depends: c}
  - {type: ping, name: c, address: z, cron: "30 * * * * *", jitter: 29s}
  - {type: ping, name: d, address: w, cron: "@every 90s", jitter: 1m}
`)
	if !reflect.DeepEqual(cfg.Monitors[0].Depends, []string{"b", "c"}) || !reflect.DeepEqual(cfg.Monitors[1].Depends, []string{"c"}) {
		t.Errorf("depends %v %v", cfg.Monitors[0].Depends, cfg.Monitors[1].Depends)
	}
	c := cfg.Monitors[2]
	from := time.Date(2026, 3, 1, 10, 0, 10, 0, time.UTC)
	if next := c.Schedule.Next(from); !next.Equal(time.Date(2026, 3, 1, 10, 0, 30, 0, time.UTC)) {
		t.Errorf("seconds field: next %v", next)
	}
	if d := cfg.Monitors[3]; d.Schedule.Next(from) != from.Add(90*time.Second) || d.CheckEvery != 0 {
		t.Errorf("@every: %+v", d)
	}
	_, err := Parse("site.yaml", []byte("monitors:\n  - {type: ping, name: c, address: z, cron: \"30 * * * * *\", jitter: 1m}\n"))
	if want := `site.yaml:2: monitor "c": jitter: 1m must be less than the shortest gap between the cron schedule's runs (1m)`; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestEnv: ${VAR}, defaults, $$, no recursion, plain vs quoted typing, and
// .env files below the real environment.
func TestEnv(t *testing.T) {
	t.Setenv("ZT_HOST", "db.example.com")
	t.Setenv("ZT_PORT", "5432")
	t.Setenv("ZT_EMPTY", "")
	t.Setenv("ZT_NESTED", "${ZT_HOST}")
	t.Setenv("ZT_COUNT", "4")
	t.Setenv("ZT_FLAG", "yes")
	cfg := mustParse(t, `site:
  name: "${ZT_MISSING:-fallback} site"
  max_retries: ${ZT_COUNT}
monitors:
  - type: tcp
    name: db
    address: tcp://${ZT_HOST}:${ZT_PORT}
    send: "price: $$5, literal $HOME, ${ZT_EMPTY:-empty default}"
    expect: ${ZT_NESTED}
  - type: ping
    name: typed
    address: ${ZT_HOST}
    count: ${ZT_COUNT}
    email: ${ZT_FLAG}
    description: ${ZT_COUNT}
  - type: custom
    name: module-fields
    address: x
    module: m.wasm
    plain: ${ZT_PORT}
    quoted: "${ZT_PORT}"
    ${ZT_HOST}: key-not-expanded
`)
	if cfg.Site.Name != "fallback site" || cfg.Site.MaxRetries != 4 {
		t.Errorf("site %q %d", cfg.Site.Name, cfg.Site.MaxRetries)
	}
	db := cfg.Monitors[0]
	if db.Address != "tcp://db.example.com:5432" || db.Fields["send"] != "price: $5, literal $HOME, empty default" || db.Fields["expect"] != "${ZT_HOST}" {
		t.Errorf("db %v", db.Fields)
	}
	typed := cfg.Monitors[1]
	// A plain ${VAR} is typed as YAML would type the text in place; quoted
	// text and string fields stay strings.
	if typed.Fields["count"] != 4 || typed.Fields["email"] != "yes" || typed.Email != true || typed.Fields["description"] != "4" {
		t.Errorf("typed %#v", typed.Fields)
	}
	mod := cfg.Monitors[2]
	if mod.Fields["plain"] != 5432 || mod.Fields["quoted"] != "5432" || mod.Fields["${ZT_HOST}"] != "key-not-expanded" {
		t.Errorf("module fields %#v", mod.Fields)
	}
	if _, err := Parse("site.yaml", []byte("monitors:\n  - {type: ping, name: t, address: x, ttl: \"${ZT_COUNT}\"}\n")); err == nil ||
		err.Error() != `site.yaml:2: monitor "t": ttl: must be an integer from 1 to 255 (got "4")` {
		t.Errorf("quoted number in an integer field: %v", err)
	}

	// .env next to the file; the real environment wins.
	dir := t.TempDir()
	file := filepath.Join(dir, "site.yaml")
	writeFile(t, filepath.Join(dir, ".env"), "# comment\nZT_PORT=1111\nZT_FROM_FILE=from-dotenv\nexport ZT_QUOTED=\"a b\"\n")
	writeFile(t, file, "site:\n  name: ${ZT_FROM_FILE}\nmonitors:\n  - {type: tcp, name: db, address: \"tcp://h:${ZT_PORT}\", expect: \"${ZT_QUOTED}\"}\n")
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.Name != "from-dotenv" || cfg.Monitors[0].Address != "tcp://h:5432" || cfg.Monitors[0].Fields["expect"] != "a b" {
		t.Errorf("site %q, address %q, expect %q", cfg.Site.Name, cfg.Monitors[0].Address, cfg.Monitors[0].Fields["expect"])
	}
	// Parse sees the process environment only.
	_, err = Parse(file, []byte("site:\n  name: ${ZT_FROM_FILE}\nmonitors:\n  - {type: ping, name: a, address: x}\n"))
	if want := file + ":2: site.name: environment variable ZT_FROM_FILE is not set (use ${ZT_FROM_FILE:-default} for a default)"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	writeFile(t, filepath.Join(dir, ".env"), "BROKEN LINE WITHOUT EQUALS\n")
	if _, err := Load(file); err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, ".env")+": not a valid .env file") {
		t.Errorf("bad .env: %v", err)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": "", "DOLLAR": "$$", "REF": "${A}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${A}", "1", ""},
		{"x${A}y${A}z", "x1y1z", ""},
		{"${EMPTY:-d}", "d", ""},
		{"${EMPTY}", "", ""},
		{"${UNSET:-}", "", ""},
		{"${UNSET:-a:-b}", "a:-b", ""},
		{"$$", "$", ""},
		{"$${A}", "${A}", ""},
		{"$$$", "$$", ""},
		{"$", "$", ""},
		{"a$b", "a$b", ""},
		{"${DOLLAR}", "$$", ""},
		{"${REF}", "${A}", ""},
		{"${UNSET}", "", "environment variable UNSET is not set (use ${UNSET:-default} for a default)"},
		{"${A", "", "unterminated ${ (write $$ for a literal $)"},
		{"${}", "", `${}: "" is not a variable name (letters, digits and _, not starting with a digit)`},
		{"${A-B}", "", `${A-B}: "A-B" is not a variable name (letters, digits and _, not starting with a digit)`},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, lookup)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("expand(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestChecksum: the checksum follows the fields, not their order or the
// file's layout.
func TestChecksum(t *testing.T) {
	sum := func(yaml string) string {
		t.Helper()
		return mustParse(t, "monitors:\n"+yaml).Monitors[0].Checksum
	}
	base := sum("  - {type: http, name: w, address: 'http://x/', expect: ok, headers: {A: '1', B: '2'}, assert: [code == 200]}\n")
	if len(base) != 64 {
		t.Fatalf("checksum %q", base)
	}
	same := []string{
		"  - {name: w, expect: ok, address: 'http://x/', type: http, assert: [code == 200], headers: {B: '2', A: '1'}}\n",
		"  - type: http\n    name: w\n    address: http://x/\n    headers:\n      B: \"2\"\n      A: \"1\"\n    expect: ok\n    assert:\n      - code == 200\n",
	}
	for _, y := range same {
		if got := sum(y); got != base {
			t.Errorf("same fields, other order: %s != %s\n%s", got, base, y)
		}
	}
	different := []string{
		"  - {type: http, name: w, address: 'http://x/', expect: OK, headers: {A: '1', B: '2'}, assert: [code == 200]}\n",
		"  - {type: http, name: w, address: 'http://x/', expect: ok, headers: {A: '1', B: '3'}, assert: [code == 200]}\n",
		"  - {type: http, name: w, address: 'http://x/', expect: ok, headers: {A: '1', B: '2'}, assert: [code == 201]}\n",
		"  - {type: http, name: w, address: 'http://x/', expect: ok, headers: {A: '1', B: '2'}, assert: [code == 200], max_retries: 1}\n",
		"  - {type: http, name: w2, address: 'http://x/', expect: ok, headers: {A: '1', B: '2'}, assert: [code == 200]}\n",
	}
	for _, y := range different {
		if got := sum(y); got == base {
			t.Errorf("changed fields, same checksum:\n%s", y)
		}
	}
	// The effective values of the site do not enter it: APMonitor hashes the
	// monitor's own configuration.
	a := mustParse(t, "site: {check_every_n_secs: 10}\nmonitors:\n  - {type: ping, name: a, address: x}\n").Monitors[0].Checksum
	b := mustParse(t, "monitors:\n  - {type: ping, name: a, address: x}\n").Monitors[0].Checksum
	if a != b {
		t.Errorf("site defaults changed the checksum")
	}
}

func TestLoadAll(t *testing.T) {
	dir := t.TempDir()
	a, b, c, bad := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml"), filepath.Join(dir, "c.json"), filepath.Join(dir, "bad.yaml")
	writeFile(t, a, "site:\n  name: Lab\nmonitors:\n  - {type: ping, name: x, address: y}\n")
	writeFile(t, b, "site:\n  name: Lab\nmonitors:\n  - {type: ping, name: x, address: y}\n")
	writeFile(t, c, `{"monitors": [{"type": "ping", "name": "x", "address": "y"}]}`)
	writeFile(t, bad, "monitors:\n  - {type: ping, name: x, address: y, count: 0}\n")
	cfgs, err := LoadAll([]string{a, c})
	if err != nil || len(cfgs) != 2 || cfgs[0].Site.Name != "Lab" || cfgs[1].Site.Name != "c" {
		t.Fatalf("%v %v", cfgs, err)
	}
	_, err = LoadAll([]string{a, bad, b, filepath.Join(dir, "missing.yaml")})
	want := strings.Join([]string{
		bad + `:2: monitor "x": count: must be an integer from 1 to 10000 (got 0)`,
		b + `:2: site.name: "Lab" is also the name of the site in ` + a + `; site names must be unique`,
		filepath.Join(dir, "missing.yaml") + ": no such file or directory",
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 3 || errs[1].File != b || errs[1].Line != 2 {
		t.Errorf("%#v", errs)
	}
}

func TestSummary(t *testing.T) {
	for _, name := range []string{"apmonitor-readme", "zappy-full"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load("testdata/good/" + name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Summary()
			golden := "testdata/good/" + name + ".summary"
			if *update {
				writeFile(t, golden, got)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("summary differs from %s:\n%s", golden, got)
			}
			for _, secret := range []string{"change-me", "XXXX", "R0UT1NGK3Y", "app-token", "authpass123"} {
				if strings.Contains(got, secret) {
					t.Errorf("summary shows the secret %q", secret)
				}
			}
		})
	}
}

// TestSecretsHidden: values of secret fields never appear in errors, even
// when they came from the environment.
func TestSecretsHidden(t *testing.T) {
	_, err := Load("testdata/bad/env-secrets.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	for _, secret := range []string{"s3cr3t!", "not-a-key-at-all"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows %q:\n%v", secret, err)
		}
	}
	_, err = Parse("s.yaml", []byte("site:\n  email_server: {smtp_host: h, smtp_port: 25, from_address: a@b.cd, smtp_password: 12345678}\nmonitors:\n  - {type: ping, name: a, address: x}\n"))
	if want := "s.yaml:2: site.email_server.smtp_password: must be a string (got an integer)"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestAdHoc(t *testing.T) {
	m, err := AdHoc("http", "http://x", map[string]any{"expect": "ok", "expect_status": []any{200, 503}}, []string{"code == 200"}, nil, 1500*time.Millisecond, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "http http://x" || m.MaxTry != 1500*time.Millisecond || m.MaxRetries != 2 || m.Fields["expect"] != "ok" || m.Line != 0 || len(m.Lines) != 0 {
		t.Fatalf("%+v", m)
	}
	// Values are literal: the shell has expanded them already.
	m, err = AdHoc("tcp", "tcp://h:25", map[string]any{"expect": "${NOT_EXPANDED}"}, nil, nil, 0, 0)
	if err != nil || m.Fields["expect"] != "${NOT_EXPANDED}" || m.MaxRetries != 3 || m.MaxTry != 20*time.Second {
		t.Fatalf("%+v %v", m, err)
	}
	tests := []struct {
		typ, addr string
		fields    map[string]any
		asserts   []string
		want      string
	}{
		{"gopher", "x", nil, nil, `command line: monitor "gopher x": type: unknown type "gopher" (built-in types: ping, http, quic, tcp, udp, cert, ports, port, host; a custom type needs module:)`},
		{"snmp", "snmp://x", nil, nil, `command line: monitor "snmp snmp://x": type 'snmp' is not valid. Did you mean type: ports?`},
		{"http", "http://x", nil, []string{"code =="}, `command line: monitor "http http://x": assert[0]: "code ==": unexpected token EOF (1:7)`},
		{"http", "http://x", map[string]any{"expect_stauts": 200}, nil, `command line: monitor "http http://x": expect_stauts: unknown field (did you mean expect_status?)`},
		{"ping", "http://x", nil, nil, `command line: monitor "ping http://x": address: must be a host name or IP address, without a scheme (got "http://x")`},
		// Lines of the YAML AdHoc builds mean nothing to the user.
		{"http", "http://x", map[string]any{"every": "5s", "check_every_n_secs": 5}, nil, `command line: monitor "http http://x": every: means the same as check_every_n_secs; give only one of them`},
		{"http", "http://x", map[string]any{"name": "two\nlines"}, nil, `command line: monitor "two\nlines": name: must be one line of text, without line breaks or control characters (got "two\nlines")`},
	}
	for _, tt := range tests {
		_, err := AdHoc(tt.typ, tt.addr, tt.fields, tt.asserts, nil, 0, 0)
		if err == nil || err.Error() != tt.want {
			t.Errorf("got %v\nwant %s", err, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzParse: the loader never panics, errors always name the file, and
// what it accepts is complete.
func FuzzParse(f *testing.F) {
	f.Add([]byte("monitors:\n  - {type: ping, name: a, address: x}\n"))
	f.Add([]byte("site: {name: x}\nmonitors: [{type: http, name: w, address: 'http://x', assert: ['code == 200']}]\n"))
	f.Add([]byte("monitors:\n  - type: [\n"))
	f.Add([]byte("x: &a [*a]\nmonitors:\n  - {type: ping, name: a, address: x, depends: a, cron: 'TZ=UTC'}\n"))
	f.Add([]byte("site:\n  notifiers: [{type: slack, webhook_url: 'https://h/${X:-y}'}]\nmonitors:\n  - {<<: {type: tcp}, name: b, address: 'tcp://h:1', every: 1m, jitter: 5s}\n"))
	for _, name := range []string{"good/apmonitor-readme.yaml", "good/zappy-full.yaml", "bad/snmp-v3.yaml", "bad/notifiers.yaml"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "f.yaml") {
					t.Fatalf("error without file name: %q", line)
				}
			}
			return
		}
		if len(cfg.Monitors) == 0 {
			t.Fatal("accepted a file without monitors")
		}
		for _, m := range cfg.Monitors {
			if m.Name == "" || m.Type == "" || m.Address == "" || len(m.Checksum) != 64 || (m.CheckEvery == 0) == (m.Schedule == nil) {
				t.Fatalf("accepted incomplete monitor %+v", m)
			}
		}
	})
}

// BenchmarkParse loads a site of 1000 monitors of every built-in type.
func BenchmarkParse(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("site:\n  name: bench\nmonitors:\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, `  - {type: ping, name: ping-%[1]d, address: 10.0.%[1]d.1, count: 3}
  - {type: http, name: http-%[1]d, address: "https://h%[1]d.example.com/", expect: ok, assert: [code == 200], depends: ping-%[1]d}
  - {type: quic, name: quic-%[1]d, address: "https://h%[1]d.example.com/", every: 30s, jitter: 5s}
  - {type: tcp, name: tcp-%[1]d, address: "tcp://h%[1]d.example.com:22", expect: SSH-2.0}
  - {type: udp, name: udp-%[1]d, address: "udp://h%[1]d.example.com:53", send: "00 01", content_type: hex}
  - {type: cert, name: cert-%[1]d, address: "h%[1]d.example.com:443", cron: "0 * * * *"}
  - {type: ports, name: ports-%[1]d, address: "snmp://s%[1]d.example.com", community: public}
  - {type: port, name: port-%[1]d, address: "snmp://s%[1]d.example.com", port: 1, mac: "aa:bb:cc:dd:ee:ff"}
  - {type: host, name: host-%[1]d, address: "snmp://s%[1]d.example.com"}
  - {type: http, name: web-%[1]d, address: "http://w%[1]d.example.com/", degraded_if: "timings.total_ms > 500"}
`, i)
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse("bench.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
