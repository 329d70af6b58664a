package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

func TestSend(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusAccepted, "")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=secret"})
	recv.SendGolden(t, n, "", notify.KindOutage, notify.KindReminder, notify.KindRecovery)
}

// TestCard checks the card's structure field by field, as Teams reads it.
func TestCard(t *testing.T) {
	e := hooktest.Events(t)[notify.KindRecovery]
	b, err := hook.JSON(payload(e))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Type        string
		Attachments []struct {
			ContentType string
			Content     struct {
				Schema  string `json:"$schema"`
				Type    string
				Version string
				Body    []struct {
					Type, Text, Weight string
					Wrap               bool
				}
			}
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "message" || len(m.Attachments) != 1 {
		t.Fatalf("message = %+v", m)
	}
	a := m.Attachments[0]
	if a.ContentType != "application/vnd.microsoft.card.adaptive" || a.Content.Type != "AdaptiveCard" ||
		a.Content.Version != "1.4" || a.Content.Schema != "http://adaptivecards.io/schemas/adaptive-card.json" || len(a.Content.Body) != 2 {
		t.Fatalf("attachment = %+v", a)
	}
	title, text := a.Content.Body[0], a.Content.Body[1]
	if title.Type != "TextBlock" || title.Text != "RECOVERY: web in HomeLab is UP" || title.Weight != "Bolder" || !title.Wrap {
		t.Errorf("title = %+v", title)
	}
	if text.Type != "TextBlock" || text.Text != "web in HomeLab is UP (https://intranet.example/login) at 3:17 PM EDT, outage lasted 1 hours 2 mins 3 secs" || text.Weight != "" || !text.Wrap {
		t.Errorf("text = %+v", text)
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusBadRequest, `{"error":{"code":"InvalidRequestContent"}}`)
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/invoke?sig=secret"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `teams "ops": POST ` + strings.TrimPrefix(recv.URL, "http://") + `: 400 Bad Request: {"error":{"code":"InvalidRequestContent"}}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	hooktest.Errors(t, "New", func(url string) error {
		_, err := New("t", Config{WebhookURL: url})
		return err
	}, []hooktest.Case{
		{"https://prod-00.westus.logic.azure.com/workflows/x", ""},
		{"", `teams notifier "t": webhook_url is required`},
		{"mailto:ops@example.com", `teams notifier "t": webhook_url: scheme must be http or https, not "mailto"`},
	})
}

// TestSendChange posts a change a module reported: the subject in bold
// and the text below it.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusAccepted, "")
	n := hooktest.New(t, New, "ops", Config{WebhookURL: recv.URL + "/workflows/abc/triggers/manual/paths/invoke?api-version=1&sig=secret"})
	r := recv.Deliver(t, n, hooktest.Events(t)[notify.KindChange])
	want := `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{` +
		`"$schema":"http://adaptivecards.io/schemas/adaptive-card.json","type":"AdaptiveCard","version":"1.4","body":[` +
		`{"type":"TextBlock","text":"PORT CHANGE: office-switch in HomeLab","weight":"Bolder","wrap":true},` +
		`{"type":"TextBlock","text":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT","wrap":true}]}}]}`
	if r.Method != "POST" || r.Body != want || r.Header.Get("Idempotency-Key") != "evt-6" {
		t.Errorf("got %s key %q\n%s\nwant POST key evt-6\n%s", r.Method, r.Header.Get("Idempotency-Key"), r.Body, want)
	}
}
