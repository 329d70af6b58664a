// Package slack delivers events to a Slack incoming webhook.
package slack

import (
	"context"
	"strings"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("slack", New) }

// Config is a Slack incoming webhook.
type Config struct {
	WebhookURL string `yaml:"webhook_url" json:"webhook_url"` // https://hooks.slack.com/services/…
}

// Validate checks that webhook_url is an http(s) URL.
func (c Config) Validate() error {
	return hook.CheckURL("webhook_url", c.WebhookURL)
}

// Notifier posts events to one Slack webhook.
type Notifier struct {
	sender hook.Sender
	cfg    Config
}

// New checks cfg and returns a Slack notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("slack", name, cfg)
	if err != nil {
		return nil, err
	}
	return &Notifier{sender: s, cfg: cfg}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

// escaper escapes the three characters Slack's text format reserves for
// links and mentions, so that a check message such as "<b>" or
// "<!channel>" is shown as written instead of being interpreted.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Send posts {"text": Text(e)} (with &, < and > escaped as Slack asks).
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	return n.sender.PostJSON(ctx, n.cfg.WebhookURL, map[string]string{"text": escaper.Replace(notify.Text(e))}, e.ID)
}
