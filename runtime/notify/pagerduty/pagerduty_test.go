package pagerduty

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

const accepted = `{"status":"success","message":"Event processed","dedup_key":"zappy-out-7"}`

func TestSend(t *testing.T) {
	events := hooktest.Events(t)
	recv := hooktest.NewReceiver(t, http.StatusAccepted, accepted)
	n := hooktest.New(t, New, "oncall", Config{RoutingKey: "R0UT1NGKEY", APIURL: recv.URL + "/v2/enqueue"})
	for _, kind := range []notify.Kind{notify.KindOutage, notify.KindReminder, notify.KindRecovery, notify.KindReport, notify.KindTest} {
		if err := n.Send(context.Background(), events[kind]); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		var dump []string
		for _, r := range recv.Requests() {
			dump = append(dump, r.Dump())
		}
		if want := map[notify.Kind]int{notify.KindTest: 2}[kind]; len(dump) != max(want, 1) {
			t.Fatalf("%s: %d requests", kind, len(dump))
		}
		hooktest.Golden(t, string(kind)+".txt", strings.Join(dump, "\n----\n"))
	}
}

// TestRequest checks the fields PagerDuty acts on, independently of the
// golden files: every event of one outage shares the dedup key, so reminders
// update the incident the outage opened and the recovery resolves it.
func TestRequest(t *testing.T) {
	events := hooktest.Events(t)
	n := hooktest.New(t, New, "oncall", Config{RoutingKey: "rk", Severity: "warning"})
	tests := []struct {
		kind             notify.Kind
		action, dedup    string
		severity, source string
	}{
		{notify.KindOutage, "trigger", "zappy-out-7", "warning", "https://intranet.example/login"},
		{notify.KindReminder, "trigger", "zappy-out-7", "warning", "https://intranet.example/login"},
		{notify.KindRecovery, "resolve", "zappy-out-7", "", ""},
		{notify.KindTest, "trigger", "zappy-test-evt-5", "info", "HomeLab"},
	}
	for _, tt := range tests {
		ev := n.request(events[tt.kind])
		if ev.RoutingKey != "rk" || ev.EventAction != tt.action || ev.DedupKey != tt.dedup {
			t.Errorf("%s: %+v, want %s %s", tt.kind, ev, tt.action, tt.dedup)
		}
		if tt.severity == "" {
			if ev.Payload != nil {
				t.Errorf("%s: payload %+v, want none", tt.kind, ev.Payload)
			}
			continue
		}
		if ev.Payload.Severity != tt.severity || ev.Payload.Source != tt.source {
			t.Errorf("%s: payload %+v, want severity %s source %s", tt.kind, ev.Payload, tt.severity, tt.source)
		}
	}
	if n.cfg.APIURL != DefaultAPIURL {
		t.Errorf("api_url default = %q", n.cfg.APIURL)
	}

	// No outage id: the dedup key falls back to site and monitor.
	e := events[notify.KindOutage]
	e.OutageID = ""
	if got := n.request(e).DedupKey; got != "zappy-HomeLab/web" {
		t.Errorf("dedup key without outage id = %q", got)
	}
}

func TestSummaryLimit(t *testing.T) {
	n := hooktest.New(t, New, "oncall", Config{RoutingKey: "rk"})
	e := hooktest.Events(t)[notify.KindOutage]
	e.Message = strings.Repeat("x", 2000)
	b, err := json.Marshal(n.request(e))
	if err != nil {
		t.Fatal(err)
	}
	var ev struct{ Payload struct{ Summary string } }
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if utf8.RuneCountInString(ev.Payload.Summary) != 1024 || !strings.HasSuffix(ev.Payload.Summary, "x…") {
		t.Errorf("summary of %d characters: %q", utf8.RuneCountInString(ev.Payload.Summary), ev.Payload.Summary[:40])
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusBadRequest, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`)
	n := hooktest.New(t, New, "oncall", Config{RoutingKey: "short", APIURL: recv.URL + "/v2/enqueue"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `pagerduty "oncall": POST ` + strings.TrimPrefix(recv.URL, "http://") +
		`: 400 Bad Request: {"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{RoutingKey: "rk"}
	hooktest.Validate(t, ok, []hooktest.Edit[Config]{
		{"ok", func(*Config) {}, ""},
		{"info", func(c *Config) { c.Severity = "info" }, ""},
		{"no key", func(c *Config) { c.RoutingKey = "" }, "routing_key is required"},
		{"severity", func(c *Config) { c.Severity = "high" }, `severity must be critical, error, warning or info, not "high"`},
		{"api_url", func(c *Config) { c.APIURL = "ftp://x" }, `api_url: scheme must be http or https, not "ftp"`},
	})
}

// TestSendChange sends a change a module reported as a PagerDuty change
// event, to the change endpoint beside api_url.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusAccepted, `{"message":"Change event processed","status":"success"}`)
	n := hooktest.New(t, New, "oncall", Config{RoutingKey: "R0UT1NGKEY", APIURL: recv.URL + "/pd/v2/enqueue?region=eu"})
	r := recv.Deliver(t, n, hooktest.Events(t)[notify.KindChange])
	want := `{"routing_key":"R0UT1NGKEY","payload":{` +
		`"summary":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT",` +
		`"timestamp":"2026-07-14T18:22:00Z","source":"snmp://10.0.0.2","custom_details":{"address":"snmp://10.0.0.2","key":"if:2",` +
		`"message":"GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)","monitor":"office-switch","site":"HomeLab","title":"PORT CHANGE","type":"ports"}}}`
	if r.Method != "POST" || r.URI != "/pd/v2/change/enqueue?region=eu" || r.Body != want ||
		r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Idempotency-Key") != "evt-6" {
		t.Errorf("got %s %s (%s, key %q)\n%s\nwant POST /pd/v2/change/enqueue?region=eu\n%s",
			r.Method, r.URI, r.Header.Get("Content-Type"), r.Header.Get("Idempotency-Key"), r.Body, want)
	}
	// Outages still go to api_url itself.
	if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage]); err != nil {
		t.Fatal(err)
	}
	if r := recv.Only(t); r.URI != "/pd/v2/enqueue?region=eu" {
		t.Errorf("outage sent to %s", r.URI)
	}
}

func TestChangeURL(t *testing.T) {
	tests := []struct{ api, want, err string }{
		{DefaultAPIURL, "https://events.pagerduty.com/v2/change/enqueue", ""},
		{"https://events.eu.pagerduty.com/v2/enqueue", "https://events.eu.pagerduty.com/v2/change/enqueue", ""},
		{"http://127.0.0.1:8080/relay/v2/enqueue?x=1", "http://127.0.0.1:8080/relay/v2/change/enqueue?x=1", ""},
		{"https://relay.example/pagerduty", "", `api_url: path must end in /v2/enqueue (change events go to /v2/change/enqueue beside it), not "/pagerduty"`},
		{"https://events.pagerduty.com/v2/enqueue/", "", `api_url: path must end in /v2/enqueue (change events go to /v2/change/enqueue beside it), not "/v2/enqueue/"`},
	}
	for _, tt := range tests {
		got, err := changeURL(tt.api)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tt.want || msg != tt.err {
			t.Errorf("changeURL(%q) = %q, %q; want %q, %q", tt.api, got, msg, tt.want, tt.err)
		}
		// Validate and New refuse what changeURL refuses.
		if err := (Config{RoutingKey: "rk", APIURL: tt.api}).Validate(); (err == nil) != (tt.err == "") {
			t.Errorf("Validate(%q) = %v", tt.api, err)
		}
	}
}
