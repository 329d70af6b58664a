// Package pushover delivers events through the Pushover messages API.
package pushover

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("pushover", New) }

// DefaultAPIURL is Pushover's messages endpoint.
const DefaultAPIURL = "https://api.pushover.net/1/messages.json"

// Pushover's limits, in characters.
const (
	maxMessage = 1024
	maxTitle   = 250
)

// Emergency priority (2) makes Pushover repeat the alert until it is
// acknowledged: every retrySecs seconds for at most expireSecs.
const (
	retrySecs  = 60
	expireSecs = 3600
)

// Config is one Pushover application token and user (or group) key.
type Config struct {
	Token    string `yaml:"token" json:"token"`       // application API token
	User     string `yaml:"user" json:"user"`         // user or group key
	Priority int    `yaml:"priority" json:"priority"` // -2..2, default 0, for outages, reminders and changes; recoveries are always sent at 0
	Sound    string `yaml:"sound" json:"sound"`       // optional sound name
	APIURL   string `yaml:"api_url" json:"api_url"`   // default DefaultAPIURL
}

// Validate checks the required token and user and the priority range.
func (c Config) Validate() error {
	if c.Token == "" {
		return errors.New("token is required")
	}
	if c.User == "" {
		return errors.New("user is required")
	}
	if c.Priority < -2 || c.Priority > 2 {
		return fmt.Errorf("priority must be between -2 and 2, not %d", c.Priority)
	}
	if c.APIURL != "" {
		return hook.CheckURL("api_url", c.APIURL)
	}
	return nil
}

// Notifier sends events to one Pushover user.
type Notifier struct {
	sender hook.Sender
	cfg    Config
}

// New checks cfg and returns a Pushover notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("pushover", name, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	return &Notifier{sender: s, cfg: cfg}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

// form is the request Send posts: token, user, title (Subject), message
// (Text), priority (the configured one; 0 for recoveries, since nothing is
// wrong any more, while a change gets the outage priority), sound,
// timestamp (the event's time), and retry and expire for emergency
// priority.
func (n *Notifier) form(e notify.Event) url.Values {
	prio := n.cfg.Priority
	if e.Kind == notify.KindRecovery {
		prio = 0
	}
	v := url.Values{
		"token":     {n.cfg.Token},
		"user":      {n.cfg.User},
		"title":     {hook.Truncate(notify.Subject(e), maxTitle)},
		"message":   {hook.Truncate(notify.Text(e), maxMessage)},
		"priority":  {strconv.Itoa(prio)},
		"timestamp": {strconv.FormatInt(e.At.Unix(), 10)},
	}
	if n.cfg.Sound != "" {
		v.Set("sound", n.cfg.Sound)
	}
	if prio == 2 {
		v.Set("retry", strconv.Itoa(retrySecs))
		v.Set("expire", strconv.Itoa(expireSecs))
	}
	return v
}

// Send posts e to the messages API.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	return n.sender.Do(ctx, hook.Request{
		Method: http.MethodPost, URL: n.cfg.APIURL, Body: []byte(n.form(e).Encode()),
		ContentType: "application/x-www-form-urlencoded", IdempotencyKey: e.ID,
	})
}
