package ntfy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

func TestSend(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, `{"id":"sPs5WkWfBWGr","event":"message"}`)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{URL: recv.URL + "/homelab-alerts"}},
		{"configured", Config{URL: recv.URL + "/homelab-alerts", Token: "tk_secret", Priority: 5, Tags: []string{"homelab", "prod"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv.SendGolden(t, hooktest.New(t, New, "phone", c.cfg), c.name+"_", notify.KindOutage, notify.KindReminder, notify.KindRecovery, notify.KindTest)
		})
	}
}

// TestHeaders spells out the headers per kind, independently of the golden
// files, including a non-ASCII title.
func TestHeaders(t *testing.T) {
	events := hooktest.Events(t)
	n := hooktest.New(t, New, "phone", Config{URL: "http://127.0.0.1/t", Tags: []string{"lab"}})
	zurich := events[notify.KindRecovery]
	zurich.Site = "Zürich"
	tests := []struct {
		e                 notify.Event
		title, prio, tags string
	}{
		{events[notify.KindOutage], "NEW OUTAGE: web in HomeLab", "4", "lab,rotating_light"},
		{events[notify.KindReminder], "REMINDER: web in HomeLab is down", "4", "lab,rotating_light"},
		{events[notify.KindRecovery], "RECOVERY: web in HomeLab is UP", "3", "lab,white_check_mark"},
		{events[notify.KindReport], "REPORT: 2 failing in HomeLab", "3", "lab"},
		{zurich, "=?utf-8?q?RECOVERY:_web_in_Z=C3=BCrich_is_UP?=", "3", "lab,white_check_mark"},
	}
	for _, tt := range tests {
		h := n.headers(tt.e)
		if h.Get("Title") != tt.title || h.Get("Priority") != tt.prio || h.Get("Tags") != tt.tags || h.Get("Authorization") != "" {
			t.Errorf("%s: headers %v, want Title %q Priority %s Tags %q", tt.e.Kind, h, tt.title, tt.prio, tt.tags)
		}
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusForbidden, `{"code":40301,"http":403,"error":"forbidden"}`)
	n := hooktest.New(t, New, "phone", Config{URL: recv.URL + "/topic", Token: "tk_bad"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `ntfy "phone": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 403 Forbidden: {"code":40301,"http":403,"error":"forbidden"}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{URL: "https://ntfy.sh/alerts"}
	hooktest.Validate(t, ok, []hooktest.Edit[Config]{
		{"ok", func(*Config) {}, ""},
		{"priority 1", func(c *Config) { c.Priority = 1 }, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url is required"},
		{"priority 6", func(c *Config) { c.Priority = 6 }, "priority must be between 1 and 5, not 6"},
		{"priority -1", func(c *Config) { c.Priority = -1 }, "priority must be between 1 and 5, not -1"},
		{"comma tag", func(c *Config) { c.Tags = []string{"ok", "a,b"} }, `tags[1]: "a,b" is not a valid tag`},
		{"empty tag", func(c *Config) { c.Tags = []string{""} }, `tags[0]: "" is not a valid tag`},
		{"token", func(c *Config) { c.Token = "a\nb" }, "token has a line break"},
	})
}

// TestSendChange publishes a change a module reported: the generic text
// and subject, at the outage priority, with only the configured tags.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, `{"id":"sPs5WkWfBWGr","event":"message"}`)
	e := hooktest.Events(t)[notify.KindChange]
	tests := []struct {
		cfg        Config
		prio, tags string
	}{
		{Config{URL: recv.URL + "/homelab-alerts"}, "4", ""},
		{Config{URL: recv.URL + "/homelab-alerts", Priority: 5, Tags: []string{"homelab"}}, "5", "homelab"},
	}
	for _, tt := range tests {
		n := hooktest.New(t, New, "phone", tt.cfg)
		r := recv.Deliver(t, n, e)
		want := "PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT"
		if r.Method != "POST" || r.URI != "/homelab-alerts" || r.Body != want {
			t.Errorf("got %s %s %q, want POST /homelab-alerts %q", r.Method, r.URI, r.Body, want)
		}
		if got := r.Header.Get("Title"); got != "PORT CHANGE: office-switch in HomeLab" {
			t.Errorf("Title = %q", got)
		}
		if got := r.Header.Get("Priority"); got != tt.prio {
			t.Errorf("Priority = %q, want %q", got, tt.prio)
		}
		if got := r.Header.Get("Tags"); got != tt.tags {
			t.Errorf("Tags = %q, want %q", got, tt.tags)
		}
	}
}
