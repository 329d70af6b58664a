package notify_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zappy-mon/zappy/runtime/notify"
	_ "github.com/zappy-mon/zappy/runtime/notify/all" // every channel type registers itself with notify.New
)

// TestNew builds every registered type from fields as yaml.v3 decodes a
// notifier entry (map[string]any, nested maps and lists, ints, strings),
// including the keys the config layer handles for every notifier.
func TestNew(t *testing.T) {
	tests := []struct {
		typ      string
		fields   map[string]any
		wantType string
	}{
		{"webhook", map[string]any{
			"endpoint_url": "https://api.example.com/alerts", "request_method": "POST", "request_encoding": "JSON",
			"request_prefix": "", "request_suffix": "", "headers": map[string]any{"Authorization": "Bearer x"},
		}, "*webhook.Notifier"},
		{"slack", map[string]any{"type": "slack", "name": "ops", "webhook_url": "https://hooks.slack.com/services/T/B/X"}, "*slack.Notifier"},
		{"teams", map[string]any{"webhook_url": "https://prod.logic.azure.com/workflows/x", "outages": true, "recoveries": "yes", "reminders": false}, "*teams.Notifier"},
		{"discord", map[string]any{"webhook_url": "https://discord.com/api/webhooks/1/x"}, "*discord.Notifier"},
		{"pushover", map[string]any{"token": "t", "user": "u", "priority": 1, "sound": "siren", "api_url": "http://127.0.0.1:1/1/messages.json"}, "*pushover.Notifier"},
		{"ntfy", map[string]any{"url": "https://ntfy.sh/alerts", "token": "tk", "priority": 5, "tags": []any{"lab", "prod"}}, "*ntfy.Notifier"},
		{"pagerduty", map[string]any{"routing_key": "rk", "severity": "error"}, "*pagerduty.Notifier"},
		{"alertmanager", map[string]any{"url": "http://127.0.0.1:9093", "labels": map[string]any{"team": "ops"}, "repeat_every": "30s"}, "*alertmanager.Notifier"},
	}
	if got, want := strings.Join(notify.Types(), ","), "alertmanager,discord,ntfy,pagerduty,pushover,slack,teams,webhook"; got != want {
		t.Errorf("Types() = %s, want %s", got, want)
	}
	for _, tt := range tests {
		p, err := notify.New("my-"+tt.typ, tt.typ, tt.fields)
		if err != nil {
			t.Errorf("%s: %v", tt.typ, err)
			continue
		}
		if p.Name() != "my-"+tt.typ || fmt.Sprintf("%T", p) != tt.wantType {
			t.Errorf("%s: got %T named %q", tt.typ, p, p.Name())
		}
	}
	p, err := notify.New("am", "alertmanager", map[string]any{"url": "http://127.0.0.1:9093"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(notify.Firing); !ok {
		t.Error("alertmanager does not implement Firing")
	}
	if _, ok := p.(notify.Runner); !ok {
		t.Error("alertmanager does not implement Runner")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		typ    string
		fields map[string]any
		want   string
	}{
		{"webhook", map[string]any{"request_method": "POST", "request_encoding": "URL"}, `webhook notifier "n": endpoint_url is required`},
		{"webhook", map[string]any{"endpoint_url": "https://h/x", "request_encoding": "URL"}, `webhook notifier "n": request_method is required (GET or POST)`},
		{"slack", map[string]any{}, `slack notifier "n": webhook_url is required`},
		{"teams", nil, `teams notifier "n": webhook_url is required`},
		{"discord", map[string]any{"url": "https://discord.com/api/webhooks/1/x"}, `discord notifier "n": unknown field(s) url (known: webhook_url)`},
		{"pushover", map[string]any{"token": "t"}, `pushover notifier "n": user is required`},
		{"pushover", map[string]any{"token": "t", "user": "u", "priority": "high"}, "pushover notifier \"n\": cannot unmarshal !!str `high` into int"},
		{"ntfy", map[string]any{"topic": "alerts"}, `ntfy notifier "n": unknown field(s) topic (known: priority, tags, token, url)`},
		{"ntfy", map[string]any{"tags": "a"}, "ntfy notifier \"n\": cannot unmarshal !!str `a` into []string"},
		{"pagerduty", map[string]any{"severity": "info"}, `pagerduty notifier "n": routing_key is required`},
		{"alertmanager", map[string]any{"labels": map[string]any{"team": "ops"}}, `alertmanager notifier "n": url is required`},
		{"alertmanager", map[string]any{"url": "http://h:9093", "repeat_every": "soon"}, "alertmanager notifier \"n\": cannot unmarshal !!str `soon` into time.Duration"},
		{"email", map[string]any{}, `notifier "n": unknown type "email" (known: alertmanager, discord, ntfy, pagerduty, pushover, slack, teams, webhook)`},
		{"sms", map[string]any{}, `notifier "n": unknown type "sms" (known: alertmanager, discord, ntfy, pagerduty, pushover, slack, teams, webhook)`},
	}
	for _, tt := range tests {
		_, err := notify.New("n", tt.typ, tt.fields)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s %v:\n got %v\nwant %s", tt.typ, tt.fields, err, tt.want)
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if r := recover(); r != `notify: provider type "slack" registered twice` {
			t.Errorf("recover() = %v", r)
		}
	}()
	notify.Register("slack", nil)
}
