// Package alertmanager delivers events to a Prometheus Alertmanager, which
// then does its own grouping, silencing, inhibition and routing.
//
// Alertmanager is state-based: an alert fires while it keeps being posted and
// resolves when its endsAt passes. So the notifier keeps the set of firing
// alerts (one per monitor in outage), posts an alert when its outage starts
// or a reminder comes, re-posts every firing alert every repeat_every (Run),
// and posts a recovered alert with endsAt set, which resolves it at once.
//
// A change a check module reported (a switch port going down while the
// switch stays up) is posted once as a ZappyChange alert that fires for five
// minutes and then expires by itself, like the test alert; it is not added
// to the firing set. Its labels say what changed: change (the event's
// title, "PORT CHANGE") and key (what changed, "if:3", when the module gave
// one), so Alertmanager can group, route or inhibit changes separately.
package alertmanager

import (
	"context"

	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("alertmanager", New) }

// DefaultRepeatEvery is how often firing alerts are re-posted unless
// configured.
const DefaultRepeatEvery = time.Minute

// endsAfter is how many repeat_every periods a posted firing alert stays
// valid: like Prometheus, zappy sets endsAt a few re-posts ahead, so the
// alert resolves by itself if zappy stops, whatever Alertmanager's
// resolve_timeout is.
const endsAfter = 4

// testAlertFor is how long a test alert fires.
const testAlertFor = 5 * time.Minute

// changeAlertFor is how long a change alert fires.
const changeAlertFor = 5 * time.Minute

// Alert names.
const (
	AlertName       = "ZappyMonitorDown"
	TestAlertName   = "ZappyTest"
	ChangeAlertName = "ZappyChange"
)

// reserved labels are set by zappy: the first four on every alert, change
// and key on change alerts.
var reserved = []string{"alertname", "monitor", "site", "type", "change", "key"}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Config is one Alertmanager (or a load balancer in front of several).
type Config struct {
	URL         string            `yaml:"url" json:"url"`                   // base URL, e.g. http://127.0.0.1:9093
	Labels      map[string]string `yaml:"labels" json:"labels"`             // added to every alert
	RepeatEvery time.Duration     `yaml:"repeat_every" json:"repeat_every"` // re-post period, default 1m
}

// Validate checks the URL, the labels (valid Prometheus label names with a
// value, and not one zappy sets) and repeat_every.
func (c Config) Validate() error {
	if err := hook.CheckURL("url", c.URL); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		switch {
		case slices.Contains(reserved, k):
			return fmt.Errorf("labels: %q is set by zappy", k)
		case !labelName.MatchString(k):
			return fmt.Errorf("labels: %q is not a valid label name", k)
		case c.Labels[k] == "":
			return fmt.Errorf("labels: %q has an empty value", k)
		}
	}
	if c.RepeatEvery < 0 {
		return fmt.Errorf("repeat_every must be positive, not %s", c.RepeatEvery)
	}
	return nil
}

// Notifier posts alerts to one Alertmanager and keeps its firing set.
type Notifier struct {
	name     string
	cfg      Config
	endpoint string
	client   *http.Client
	now      func() time.Time

	mu       sync.Mutex
	firing   map[string]notify.Event // by alertKey: the latest outage or reminder event
	resolved map[string]time.Time    // outage ids already recovered, so a late retry cannot re-fire them
}

// New checks cfg and returns an Alertmanager notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("alertmanager notifier %q: %w", name, err)
	}
	if cfg.RepeatEvery == 0 {
		cfg.RepeatEvery = DefaultRepeatEvery
	}
	return &Notifier{
		name: name, cfg: cfg, client: hook.NewClient(), now: time.Now,
		endpoint: strings.TrimSuffix(cfg.URL, "/") + "/api/v2/alerts",
		firing:   map[string]notify.Event{}, resolved: map[string]time.Time{},
	}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.name }

// alert is one entry of POST /api/v2/alerts.
type alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt"`
	EndsAt      string            `json:"endsAt"`
}

// rfc3339 keeps fractions of a second (dropped when zero), so that a short
// repeat_every never rounds endsAt down to the present.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func alertKey(e notify.Event) string { return e.Site + "\x00" + e.Monitor }

func (n *Notifier) labels(e notify.Event, name string) map[string]string {
	l := maps.Clone(n.cfg.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l["alertname"] = name
	l["site"] = e.Site
	if e.Monitor != "" {
		l["monitor"] = e.Monitor
	}
	if e.Type != "" {
		l["type"] = e.Type
	}
	return l
}

// toAlert is the alert of a monitor event, ending at endsAt.
func (n *Notifier) toAlert(e notify.Event, endsAt time.Time) alert {
	ann := map[string]string{"summary": notify.Text(e)}
	if e.Message != "" {
		ann["description"] = e.Message
	}
	return alert{Labels: n.labels(e, AlertName), Annotations: ann, StartsAt: rfc3339(e.Since), EndsAt: rfc3339(endsAt)}
}

func (n *Notifier) post(ctx context.Context, alerts []alert, idempotencyKey string) error {
	body, err := hook.JSON(alerts)
	if err != nil {
		return err
	}
	return hook.Do(ctx, n.client, hook.Request{
		Method: http.MethodPost, URL: n.endpoint, Body: body, ContentType: "application/json", IdempotencyKey: idempotencyKey,
	})
}

// Send posts the alert of e. Outage and reminder add it to (or refresh it
// in) the firing set and post it firing; recovery removes it and posts it
// with endsAt = the recovery time; test posts a ZappyTest alert that fires
// for five minutes from now; change posts a ZappyChange alert that fires for
// five minutes from the change. Reports are not sent: the firing alerts
// already are the list of what is failing.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	var a alert
	switch e.Kind {
	case notify.KindOutage, notify.KindReminder:
		n.mu.Lock()
		if _, done := n.resolved[e.OutageID]; done && e.OutageID != "" {
			n.mu.Unlock()
			return nil // a late retry of an outage that has recovered
		}
		key := alertKey(e)
		if old, ok := n.firing[key]; ok && old.OutageID == e.OutageID && old.Seq > e.Seq {
			e = old // an older event retried late: keep the newer text
		}
		n.firing[key] = e
		n.mu.Unlock()
		a = n.toAlert(e, n.now().Add(endsAfter*n.cfg.RepeatEvery))
	case notify.KindRecovery:
		n.mu.Lock()
		delete(n.firing, alertKey(e))
		if e.OutageID != "" {
			now := n.now()
			n.resolved[e.OutageID] = now
			maps.DeleteFunc(n.resolved, func(_ string, t time.Time) bool { return now.Sub(t) > 24*time.Hour })
		}
		n.mu.Unlock()
		a = n.toAlert(e, e.At)
	case notify.KindChange:
		l := n.labels(e, ChangeAlertName)
		l["change"] = e.Title
		if e.Key != "" {
			l["key"] = e.Key
		}
		ann := map[string]string{"summary": notify.Text(e)}
		if e.Message != "" {
			ann["description"] = e.Message
		}
		a = alert{Labels: l, Annotations: ann, StartsAt: rfc3339(e.At), EndsAt: rfc3339(e.At.Add(changeAlertFor))}
	case notify.KindTest:
		a = alert{
			Labels:      n.labels(e, TestAlertName),
			Annotations: map[string]string{"summary": notify.Text(e)},
			StartsAt:    rfc3339(e.At), EndsAt: rfc3339(n.now().Add(testAlertFor)),
		}
	default:
		return nil
	}
	if err := n.post(ctx, []alert{a}, e.ID); err != nil {
		return fmt.Errorf("alertmanager %q: %w", n.name, err)
	}
	return nil
}

// SetFiring replaces the firing set with the open outages in events (the
// latest outage or reminder event of each), which the daemon passes at start
// so that alerts keep firing across a restart. Other kinds are ignored.
func (n *Notifier) SetFiring(events []notify.Event) {
	firing := map[string]notify.Event{}
	for _, e := range events {
		if e.Kind == notify.KindOutage || e.Kind == notify.KindReminder {
			firing[alertKey(e)] = e
		}
	}
	n.mu.Lock()
	n.firing = firing
	n.mu.Unlock()
}

// Firing returns the monitor names of the firing alerts, sorted; for the
// dashboard and tests.
func (n *Notifier) Firing() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var names []string
	for _, e := range n.firing {
		names = append(names, e.Monitor)
	}
	slices.Sort(names)
	return names
}

// Repost posts every firing alert at once (nothing if none fire).
func (n *Notifier) Repost(ctx context.Context) error {
	n.mu.Lock()
	events := slices.SortedFunc(maps.Values(n.firing), func(a, b notify.Event) int {
		return strings.Compare(alertKey(a), alertKey(b))
	})
	n.mu.Unlock()
	if len(events) == 0 {
		return nil
	}
	endsAt := n.now().Add(endsAfter * n.cfg.RepeatEvery)
	alerts := make([]alert, len(events))
	for i, e := range events {
		alerts[i] = n.toAlert(e, endsAt)
	}
	if err := n.post(ctx, alerts, ""); err != nil {
		return fmt.Errorf("alertmanager %q: re-posting %d alert(s): %w", n.name, len(alerts), err)
	}
	return nil
}

// Run re-posts the firing alerts at once and then every repeat_every until
// ctx ends, because Alertmanager resolves alerts that stop being posted.
// Failures are logged; the next period tries again.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(n.cfg.RepeatEvery)
	defer t.Stop()
	for {
		if err := n.Repost(ctx); err != nil && ctx.Err() == nil {
			slog.Warn("alertmanager re-post failed", "notifier", n.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

var _ interface {
	notify.Provider
	notify.Firing
	notify.Runner
} = (*Notifier)(nil)
