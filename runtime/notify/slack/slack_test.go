package slack

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

func TestSend(t *testing.T) {
	events := hooktest.Events(t)
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	n, err := New("ops", Config{WebhookURL: recv.URL + "/services/T0/B1/secret"})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []notify.Kind{notify.KindOutage, notify.KindReminder, notify.KindRecovery, notify.KindReport} {
		if err := n.Send(context.Background(), events[kind]); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		hooktest.Golden(t, string(kind)+".txt", recv.Only(t).Dump())
	}
}

// TestEscape checks that Slack's control characters in a check message are
// shown as written, not read as links or mentions.
func TestEscape(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	n, err := New("ops", Config{WebhookURL: recv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	e := notify.Event{ID: "x1", Kind: notify.KindOutage, Site: "Lab", Monitor: "web", Address: "http://h/?a=1&b=2",
		Message: "expected <!channel> & <b>", At: hooktest.Since, Since: hooktest.Since, Location: hooktest.Zone(t)}
	if err := n.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	got := recv.Only(t)
	want := `{"text":"web in Lab new outage: expected &lt;!channel&gt; &amp; &lt;b&gt; (http://h/?a=1&amp;b=2) at 2:15 PM EDT, down for 0 secs"}`
	if got.Method != "POST" || got.URI != "/hook" || got.Header.Get("Content-Type") != "application/json" || got.Body != want {
		t.Errorf("got %s %s %q\n%s\nwant body %s", got.Method, got.URI, got.Header.Get("Content-Type"), got.Body, want)
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusNotFound, "no_team")
	n, err := New("ops", Config{WebhookURL: recv.URL + "/services/T0/B1/secret"})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `slack "ops": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 404 Not Found: no_team`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://hooks.slack.com/services/T/B/X", ""},
		{"", `slack notifier "s": webhook_url is required`},
		{"hooks.slack.com/services/T/B/X", `slack notifier "s": webhook_url: scheme must be http or https, not ""`},
	}
	for _, tt := range tests {
		_, err := New("s", Config{WebhookURL: tt.url})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("New(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestSendChange posts a change a module reported: the generic text.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	n, err := New("ops", Config{WebhookURL: recv.URL + "/services/T0/B1/secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindChange]); err != nil {
		t.Fatal(err)
	}
	r := recv.Only(t)
	want := `{"text":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT"}`
	if r.Method != "POST" || r.URI != "/services/T0/B1/secret" || r.Body != want || r.Header.Get("Idempotency-Key") != "evt-6" {
		t.Errorf("got %s %s key %q\n%s\nwant POST /services/T0/B1/secret key evt-6\n%s", r.Method, r.URI, r.Header.Get("Idempotency-Key"), r.Body, want)
	}
}
