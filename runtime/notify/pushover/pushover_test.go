package pushover

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

func TestSend(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, `{"status":1,"request":"647d2300-702c-4b38-8b2f-d56326ae460b"}`)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{Token: "app-token", User: "user-key", APIURL: recv.URL + "/1/messages.json"}},
		// Emergency priority adds retry and expire; the recovery still goes at 0.
		{"emergency", Config{Token: "app-token", User: "group-key", Priority: 2, Sound: "siren", APIURL: recv.URL + "/1/messages.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv.SendGolden(t, hooktest.New(t, New, "phone", c.cfg), c.name+"_", notify.KindOutage, notify.KindReminder, notify.KindRecovery)
		})
	}
}

// TestForm checks the decoded form fields, independently of the golden
// files.
func TestForm(t *testing.T) {
	events := hooktest.Events(t)
	n := hooktest.New(t, New, "phone", Config{Token: "tok", User: "usr", Priority: -1, Sound: "none"})
	tests := []struct {
		kind notify.Kind
		want url.Values
	}{
		{notify.KindOutage, url.Values{
			"token": {"tok"}, "user": {"usr"}, "title": {"NEW OUTAGE: web in HomeLab"},
			"message":  {"web in HomeLab new outage: connect 10.0.0.5:443: connection refused (https://intranet.example/login) at 2:15 PM EDT, down for 0 secs"},
			"priority": {"-1"}, "sound": {"none"}, "timestamp": {"1784052900"},
		}},
		{notify.KindRecovery, url.Values{
			"token": {"tok"}, "user": {"usr"}, "title": {"RECOVERY: web in HomeLab is UP"},
			"message":  {"web in HomeLab is UP (https://intranet.example/login) at 3:17 PM EDT, outage lasted 1 hours 2 mins 3 secs"},
			"priority": {"0"}, "sound": {"none"}, "timestamp": {"1784056623"},
		}},
	}
	for _, tt := range tests {
		got := n.form(events[tt.kind])
		if got.Encode() != tt.want.Encode() {
			t.Errorf("%s:\n got %s\nwant %s", tt.kind, got.Encode(), tt.want.Encode())
		}
	}
	if n.cfg.APIURL != DefaultAPIURL {
		t.Errorf("api_url default = %q", n.cfg.APIURL)
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusBadRequest, `{"user":"invalid","errors":["user identifier is invalid"],"status":0}`)
	n := hooktest.New(t, New, "phone", Config{Token: "t", User: "u", APIURL: recv.URL + "/1/messages.json"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `pushover "phone": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 400 Bad Request: {"user":"invalid","errors":["user identifier is invalid"],"status":0}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Token: "t", User: "u"}
	hooktest.Validate(t, ok, []hooktest.Edit[Config]{
		{"ok", func(*Config) {}, ""},
		{"priorities", func(c *Config) { c.Priority = -2 }, ""},
		{"no token", func(c *Config) { c.Token = "" }, "token is required"},
		{"no user", func(c *Config) { c.User = "" }, "user is required"},
		{"priority 3", func(c *Config) { c.Priority = 3 }, "priority must be between -2 and 2, not 3"},
		{"priority -3", func(c *Config) { c.Priority = -3 }, "priority must be between -2 and 2, not -3"},
		{"api_url", func(c *Config) { c.APIURL = "api.pushover.net" }, `api_url: scheme must be http or https, not ""`},
	})
}

// TestSendChange sends a change a module reported: the generic text and
// subject at the configured (outage) priority, emergency included.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, `{"status":1,"request":"647d2300-702c-4b38-8b2f-d56326ae460b"}`)
	e := hooktest.Events(t)[notify.KindChange]
	const text = "PORT+CHANGE%3A+office-switch+in+HomeLab%3A+GigabitEthernet0%2F2+oper%3Ddown+admin%3Dup+%28was+oper%3Dup+admin%3Dup%29+at+2%3A22+PM+EDT"
	tests := []struct {
		cfg  Config
		body string
	}{
		{Config{Token: "app-token", User: "user-key", Priority: 1, APIURL: recv.URL + "/1/messages.json"},
			"message=" + text + "&priority=1&timestamp=1784053320&title=PORT+CHANGE%3A+office-switch+in+HomeLab&token=app-token&user=user-key"},
		{Config{Token: "app-token", User: "group-key", Priority: 2, Sound: "siren", APIURL: recv.URL + "/1/messages.json"},
			"expire=3600&message=" + text + "&priority=2&retry=60&sound=siren&timestamp=1784053320&title=PORT+CHANGE%3A+office-switch+in+HomeLab&token=app-token&user=group-key"},
	}
	for _, tt := range tests {
		n := hooktest.New(t, New, "phone", tt.cfg)
		r := recv.Deliver(t, n, e)
		if r.Method != "POST" || r.URI != "/1/messages.json" || r.Body != tt.body || r.Header.Get("Idempotency-Key") != "evt-6" {
			t.Errorf("got %s %s key %q\n%s\nwant POST /1/messages.json key evt-6\n%s", r.Method, r.URI, r.Header.Get("Idempotency-Key"), r.Body, tt.body)
		}
	}
}
