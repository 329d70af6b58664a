package discord

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

func TestSend(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusNoContent, "")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/api/webhooks/123/secret"})
	recv.SendGolden(t, n, "", notify.KindOutage, notify.KindReminder, notify.KindRecovery)
}

// TestTruncate sends a message longer than Discord's limit: the content is
// cut to exactly MaxContent characters (not bytes), ending in "…".
func TestTruncate(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusNoContent, "")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/hook"})
	e := hooktest.Events(t)[notify.KindOutage]
	e.Message = strings.Repeat("é", 3000)
	body := recv.Deliver(t, n, e).Body
	var m struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	prefix := "web in HomeLab new outage: "
	want := prefix + strings.Repeat("é", MaxContent-1-utf8.RuneCountInString(prefix)) + "…"
	if m.Content != want {
		t.Errorf("content has %d runes, want %d: ...%q", utf8.RuneCountInString(m.Content), MaxContent, m.Content[len(m.Content)-20:])
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusTooManyRequests, `{"message": "You are being rate limited.", "retry_after": 0.5}`)
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/api/webhooks/123/secret"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `discord "ops": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 429 Too Many Requests: {"message": "You are being rate limited.", "retry_after": 0.5}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	hooktest.Errors(t, "New", func(url string) error {
		_, err := New("d", Config{WebhookURL: url})
		return err
	}, []hooktest.Case{
		{"https://discord.com/api/webhooks/1/x", ""},
		{"", `discord notifier "d": webhook_url is required`},
		{"https://", `discord notifier "d": webhook_url: no host in "https://"`},
	})
}

// TestSendChange posts a change a module reported: the generic text.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusNoContent, "")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/api/webhooks/123/secret"})
	r := recv.Deliver(t, n, hooktest.Events(t)[notify.KindChange])
	want := `{"content":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT","allowed_mentions":{"parse":[]}}`
	if r.Method != "POST" || r.URI != "/api/webhooks/123/secret" || r.Body != want || r.Header.Get("Idempotency-Key") != "evt-6" {
		t.Errorf("got %s %s key %q\n%s\nwant POST /api/webhooks/123/secret key evt-6\n%s", r.Method, r.URI, r.Header.Get("Idempotency-Key"), r.Body, want)
	}
}
