// Package teams delivers events to Microsoft Teams through a workflow
// (Power Automate) webhook, as an Adaptive Card: the old Office 365
// connector webhooks and their MessageCard format are retired.
package teams

import (
	"context"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("teams", New) }

// Config is a Teams workflow webhook.
type Config struct {
	WebhookURL string `yaml:"webhook_url" json:"webhook_url"` // the workflow's "When a Teams webhook request is received" URL
}

// Validate checks that webhook_url is an http(s) URL.
func (c Config) Validate() error {
	return hook.CheckURL("webhook_url", c.WebhookURL)
}

// Notifier posts events to one Teams workflow.
type Notifier struct {
	sender hook.Sender
	cfg    Config
}

// New checks cfg and returns a Teams notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("teams", name, cfg)
	if err != nil {
		return nil, err
	}
	return &Notifier{sender: s, cfg: cfg}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

type message struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string `json:"contentType"`
	Content     card   `json:"content"`
}

type card struct {
	Schema  string      `json:"$schema"`
	Type    string      `json:"type"`
	Version string      `json:"version"`
	Body    []textBlock `json:"body"`
}

type textBlock struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Weight string `json:"weight,omitempty"`
	Wrap   bool   `json:"wrap"`
}

// payload is the message Send posts: an Adaptive Card with the subject in
// bold and the text below it.
func payload(e notify.Event) message {
	return message{
		Type: "message",
		Attachments: []attachment{{
			ContentType: "application/vnd.microsoft.card.adaptive",
			Content: card{
				Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
				Body: []textBlock{
					{Type: "TextBlock", Text: notify.Subject(e), Weight: "Bolder", Wrap: true},
					{Type: "TextBlock", Text: notify.Text(e), Wrap: true},
				},
			},
		}},
	}
}

// Send posts the Adaptive Card of e.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	return n.sender.PostJSON(ctx, n.cfg.WebhookURL, payload(e), e.ID)
}
