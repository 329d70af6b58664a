// Package pagerduty delivers events to PagerDuty through the Events API v2:
// an outage triggers an incident, reminders update it, the recovery resolves
// it.
//
// A change a check module reported (a switch port going down while the
// switch stays up) is not an incident, nor is the periodic report of what
// is still failing: both are sent as PagerDuty change events, which show on
// the service's timeline without paging anyone. A test notification
// triggers an incident and resolves it at once. Change
// events have their own endpoint, found from api_url by replacing the
// trailing "/v2/enqueue" of its path with "/v2/change/enqueue"
// (https://events.pagerduty.com/v2/change/enqueue by default), so api_url
// must end in "/v2/enqueue".
package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("pagerduty", New) }

// DefaultAPIURL is the Events API v2 enqueue endpoint.
const DefaultAPIURL = "https://events.pagerduty.com/v2/enqueue"

// enqueuePath and changePath end the paths of the events and change-events
// endpoints.
const (
	enqueuePath = "/v2/enqueue"
	changePath  = "/v2/change/enqueue"
)

// DefaultSeverity is the severity of outage incidents unless configured.
const DefaultSeverity = "critical"

// maxSummary is PagerDuty's limit on a summary, in characters.
const maxSummary = 1024

// Config is one PagerDuty service integration.
type Config struct {
	RoutingKey string `yaml:"routing_key" json:"routing_key"` // the integration key
	Severity   string `yaml:"severity" json:"severity"`       // critical, error, warning or info; default critical
	APIURL     string `yaml:"api_url" json:"api_url"`         // default DefaultAPIURL; its path ends in /v2/enqueue
}

// Validate checks the routing key, the severity and the API URL, whose path
// must end in /v2/enqueue so that the change-events endpoint can be found
// beside it.
func (c Config) Validate() error {
	if c.RoutingKey == "" {
		return errors.New("routing_key is required")
	}
	switch c.Severity {
	case "", "critical", "error", "warning", "info":
	default:
		return fmt.Errorf("severity must be critical, error, warning or info, not %q", c.Severity)
	}
	if c.APIURL != "" {
		if err := hook.CheckURL("api_url", c.APIURL); err != nil {
			return err
		}
		if _, err := changeURL(c.APIURL); err != nil {
			return err
		}
	}
	return nil
}

// changeURL is the change-events endpoint beside the events endpoint api.
func changeURL(api string) (string, error) {
	u, err := url.Parse(api)
	if err != nil {
		return "", fmt.Errorf("api_url: %w", err)
	}
	if !strings.HasSuffix(u.Path, enqueuePath) {
		return "", fmt.Errorf("api_url: path must end in %s (change events go to %s beside it), not %q", enqueuePath, changePath, u.Path)
	}
	u.Path = strings.TrimSuffix(u.Path, enqueuePath) + changePath
	u.RawPath = ""
	return u.String(), nil
}

// Notifier sends events to one PagerDuty integration.
type Notifier struct {
	sender    hook.Sender
	cfg       Config
	changeURL string // the change-events endpoint
}

// New checks cfg and returns a PagerDuty notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("pagerduty", name, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Severity == "" {
		cfg.Severity = DefaultSeverity
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	change, err := changeURL(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("pagerduty notifier %q: %w", name, err)
	}
	return &Notifier{sender: s, cfg: cfg, changeURL: change}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

type event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Client      string   `json:"client"`
	Payload     *payload `json:"payload,omitempty"`
}

type payload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// changeEvent is a change event (POST /v2/change/enqueue).
type changeEvent struct {
	RoutingKey string        `json:"routing_key"`
	Payload    changePayload `json:"payload"`
}

type changePayload struct {
	Summary       string         `json:"summary"`
	Timestamp     string         `json:"timestamp"`
	Source        string         `json:"source"`
	CustomDetails map[string]any `json:"custom_details"`
}

type failing struct {
	Monitor string `json:"monitor"`
	Type    string `json:"type,omitempty"`
	Address string `json:"address,omitempty"`
	Message string `json:"message,omitempty"`
	Since   string `json:"since"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// dedupKey is "zappy-" + the outage id, so every event of one outage acts on
// the same incident. An event without an outage id (which the daemon does
// not produce) falls back to the site and monitor, still stable per outage
// since a monitor has one open outage at a time.
func dedupKey(e notify.Event) string {
	if e.OutageID != "" {
		return "zappy-" + e.OutageID
	}
	return "zappy-" + e.Site + "/" + e.Monitor
}

// request builds the API event for e: outage and reminder trigger (a
// trigger with the same dedup key updates the open incident), recovery
// resolves, a test triggers an info incident of its own (Send resolves it
// at once). Reports and changes are change events (changeRequest).
func (n *Notifier) request(e notify.Event) event {
	ev := event{RoutingKey: n.cfg.RoutingKey, Client: "zappy"}
	source := e.Address
	if source == "" {
		source = e.Site
	}
	switch e.Kind {
	case notify.KindRecovery:
		ev.EventAction, ev.DedupKey = "resolve", dedupKey(e)
	case notify.KindOutage, notify.KindReminder:
		ev.EventAction, ev.DedupKey = "trigger", dedupKey(e)
		ev.Payload = &payload{
			Summary: hook.Truncate(notify.Text(e), maxSummary), Source: source, Severity: n.cfg.Severity,
			Timestamp: rfc3339(e.At), Component: e.Monitor, Group: e.Site, Class: e.Type,
			CustomDetails: map[string]any{"message": e.Message, "since": rfc3339(e.Since), "seq": e.Seq},
		}
	default: // test
		ev.EventAction, ev.DedupKey = "trigger", "zappy-test-"+e.ID
		ev.Payload = &payload{
			Summary: hook.Truncate(notify.Text(e), maxSummary), Source: source, Severity: "info",
			Timestamp: rfc3339(e.At), Group: e.Site, Class: string(e.Kind),
		}
	}
	return ev
}

// changeRequest builds the change event of a change: the summary is
// Text(e); the details say which monitor reported what.
func (n *Notifier) changeRequest(e notify.Event) changeEvent {
	source := e.Address
	if source == "" {
		source = e.Site
	}
	details := map[string]any{"site": e.Site}
	if e.Kind == notify.KindReport {
		list := make([]failing, len(e.Failing))
		for i, f := range e.Failing {
			list[i] = failing{Monitor: f.Monitor, Type: f.Type, Address: f.Address, Message: f.Message, Since: rfc3339(f.Since)}
		}
		details["failing"] = list
	} else {
		details["monitor"], details["title"], details["message"] = e.Monitor, e.Title, e.Message
		for k, v := range map[string]string{"type": e.Type, "address": e.Address, "key": e.Key} {
			if v != "" {
				details[k] = v
			}
		}
	}
	return changeEvent{RoutingKey: n.cfg.RoutingKey, Payload: changePayload{
		Summary: hook.Truncate(notify.Text(e), maxSummary), Timestamp: rfc3339(e.At), Source: source, CustomDetails: details,
	}}
}

// Send enqueues e (PagerDuty answers 202 Accepted): a change as a change
// event at the change-events endpoint, anything else as an event.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	switch e.Kind {
	case notify.KindChange, notify.KindReport:
		// Not incidents: a report lists outages PagerDuty already has
		// open, and nobody could resolve an incident it opened.
		return n.sender.PostJSON(ctx, n.changeURL, n.changeRequest(e), e.ID)
	case notify.KindTest:
		// Page, then resolve at once: the test proves the route and
		// leaves no incident open.
		ev := n.request(e)
		if err := n.sender.PostJSON(ctx, n.cfg.APIURL, ev, e.ID); err != nil {
			return err
		}
		return n.sender.PostJSON(ctx, n.cfg.APIURL, event{RoutingKey: ev.RoutingKey, EventAction: "resolve", DedupKey: ev.DedupKey, Client: ev.Client}, e.ID+"-resolve")
	}
	return n.sender.PostJSON(ctx, n.cfg.APIURL, n.request(e), e.ID)
}
