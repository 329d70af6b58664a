// Package slack delivers events to a Slack incoming webhook.
package slack

import (
	"context"
	"fmt"
	"net/http"
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
	name   string
	cfg    Config
	client *http.Client
}

// New checks cfg and returns a Slack notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack notifier %q: %w", name, err)
	}
	return &Notifier{name: name, cfg: cfg, client: hook.NewClient()}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.name }

// escaper escapes the three characters Slack's text format reserves for
// links and mentions, so that a check message such as "<b>" or
// "<!channel>" is shown as written instead of being interpreted.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Send posts {"text": Text(e)} (with &, < and > escaped as Slack asks).
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	body, err := hook.JSON(map[string]string{"text": escaper.Replace(notify.Text(e))})
	if err != nil {
		return fmt.Errorf("slack %q: %w", n.name, err)
	}
	r := hook.Request{Method: http.MethodPost, URL: n.cfg.WebhookURL, Body: body, ContentType: "application/json", IdempotencyKey: e.ID}
	if err := hook.Do(ctx, n.client, r); err != nil {
		return fmt.Errorf("slack %q: %w", n.name, err)
	}
	return nil
}
