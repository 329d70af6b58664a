// Package ntfy publishes events to an ntfy topic (ntfy.sh or a self-hosted
// server).
package ntfy

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("ntfy", New) }

// Default priorities: high for outages, reminders and changes, default
// otherwise.
const (
	DefaultOutagePriority = 4
	DefaultPriority       = 3
)

// Config is one ntfy topic.
type Config struct {
	URL      string   `yaml:"url" json:"url"`           // the topic URL, e.g. https://ntfy.sh/homelab-alerts
	Token    string   `yaml:"token" json:"token"`       // access token, sent as a Bearer token
	Priority int      `yaml:"priority" json:"priority"` // 1..5 for outages, reminders and changes (default 4); others are sent at 3
	Tags     []string `yaml:"tags" json:"tags"`         // added to every message
}

// Validate checks the topic URL, the priority range and the tags.
func (c Config) Validate() error {
	if err := hook.CheckURL("url", c.URL); err != nil {
		return err
	}
	if c.Priority != 0 && (c.Priority < 1 || c.Priority > 5) {
		return fmt.Errorf("priority must be between 1 and 5, not %d", c.Priority)
	}
	if strings.ContainsAny(c.Token, "\r\n") {
		return errors.New("token has a line break")
	}
	for i, t := range c.Tags {
		if t == "" || strings.ContainsAny(t, ",\r\n") {
			return fmt.Errorf("tags[%d]: %q is not a valid tag", i, t)
		}
	}
	return nil
}

// Notifier publishes events to one topic.
type Notifier struct {
	sender hook.Sender
	cfg    Config
}

// New checks cfg and returns an ntfy notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("ntfy", name, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Priority == 0 {
		cfg.Priority = DefaultOutagePriority
	}
	return &Notifier{sender: s, cfg: cfg}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

// headers are the message's Title (Subject, RFC 2047-encoded if not ASCII, as
// ntfy accepts), Priority (the outage priority for outages, reminders and
// changes), Tags (the configured ones, plus rotating_light for outages and
// reminders or white_check_mark for recoveries, which ntfy shows as emoji)
// and Authorization.
func (n *Notifier) headers(e notify.Event) http.Header {
	prio := DefaultPriority
	tags := slices.Clone(n.cfg.Tags)
	switch e.Kind {
	case notify.KindOutage, notify.KindReminder:
		prio = n.cfg.Priority
		tags = append(tags, "rotating_light")
	case notify.KindChange:
		prio = n.cfg.Priority // a change (a port going down) wants attention like an outage
	case notify.KindRecovery:
		tags = append(tags, "white_check_mark")
	}
	h := http.Header{}
	h.Set("Title", mime.QEncoding.Encode("utf-8", notify.Subject(e)))
	h.Set("Priority", strconv.Itoa(prio))
	if len(tags) > 0 {
		h.Set("Tags", strings.Join(tags, ","))
	}
	if n.cfg.Token != "" {
		h.Set("Authorization", "Bearer "+n.cfg.Token)
	}
	return h
}

// maxBody is ntfy's default message size limit in bytes; a larger body
// would be turned into an attachment.
const maxBody = 4096

// Send publishes Text(e) as the message body (cut to 4096 bytes).
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	return n.sender.Do(ctx, hook.Request{
		Method: http.MethodPost, URL: n.cfg.URL, Body: []byte(hook.TruncateBytes(notify.Text(e), maxBody)),
		ContentType: "text/plain; charset=utf-8", Header: n.headers(e), IdempotencyKey: e.ID,
	})
}
