// Package discord delivers events to a Discord channel webhook.
package discord

import (
	"context"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("discord", New) }

// MaxContent is Discord's limit on a message's content, in characters.
const MaxContent = 2000

// Config is a Discord channel webhook.
type Config struct {
	WebhookURL string `yaml:"webhook_url" json:"webhook_url"` // https://discord.com/api/webhooks/…
}

// Validate checks that webhook_url is an http(s) URL.
func (c Config) Validate() error {
	return hook.CheckURL("webhook_url", c.WebhookURL)
}

// Notifier posts events to one Discord webhook.
type Notifier struct {
	sender hook.Sender
	cfg    Config
}

// New checks cfg and returns a Discord notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("discord", name, cfg)
	if err != nil {
		return nil, err
	}
	return &Notifier{sender: s, cfg: cfg}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

type message struct {
	Content         string          `json:"content"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

// allowedMentions with an empty parse list keeps "@everyone" or "<@id>" in
// a check message from pinging anyone.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

// Send posts {"content": Text(e)}, cut to MaxContent characters, with
// mentions disabled.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	m := message{Content: hook.Truncate(notify.Text(e), MaxContent), AllowedMentions: allowedMentions{Parse: []string{}}}
	return n.sender.PostJSON(ctx, n.cfg.WebhookURL, m, e.ID)
}
