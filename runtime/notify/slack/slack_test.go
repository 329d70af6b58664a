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
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/services/T0/B1/secret"})
	recv.SendGolden(t, n, "", notify.KindOutage, notify.KindReminder, notify.KindRecovery, notify.KindReport)
}

// TestEscape checks that Slack's control characters in a check message are
// shown as written, not read as links or mentions.
func TestEscape(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/hook"})
	e := notify.Event{ID: "x1", Kind: notify.KindOutage, Site: "Lab", Monitor: "web", Address: "http://h/?a=1&b=2",
		Message: "expected <!channel> & <b>", At: hooktest.Since, Since: hooktest.Since, Location: hooktest.Zone(t)}
	got := recv.Deliver(t, n, e)
	want := `{"text":"web in Lab new outage: expected &lt;!channel&gt; &amp; &lt;b&gt; (http://h/?a=1&amp;b=2) at 2:15 PM EDT, down for 0 secs"}`
	if got.Method != "POST" || got.URI != "/hook" || got.Header.Get("Content-Type") != "application/json" || got.Body != want {
		t.Errorf("got %s %s %q\n%s\nwant body %s", got.Method, got.URI, got.Header.Get("Content-Type"), got.Body, want)
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusNotFound, "no_team")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/services/T0/B1/secret"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `slack "ops": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 404 Not Found: no_team`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	hooktest.Errors(t, "New", func(url string) error {
		_, err := New("s", Config{WebhookURL: url})
		return err
	}, []hooktest.Case{
		{"https://hooks.slack.com/services/T/B/X", ""},
		{"", `slack notifier "s": webhook_url is required`},
		{"hooks.slack.com/services/T/B/X", `slack notifier "s": webhook_url: scheme must be http or https, not ""`},
	})
}

// TestSendChange posts a change a module reported: the generic text.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/services/T0/B1/secret"})
	r := recv.Deliver(t, n, hooktest.Events(t)[notify.KindChange])
	want := `{"text":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT"}`
	if r.Method != "POST" || r.URI != "/services/T0/B1/secret" || r.Body != want || r.Header.Get("Idempotency-Key") != "evt-6" {
		t.Errorf("got %s %s key %q\n%s\nwant POST /services/T0/B1/secret key evt-6\n%s", r.Method, r.URI, r.Header.Get("Idempotency-Key"), r.Body, want)
	}
}
