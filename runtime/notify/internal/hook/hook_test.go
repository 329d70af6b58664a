package hook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type sample struct {
	URL      string            `yaml:"url"`
	Priority int               `yaml:"priority"`
	Tags     []string          `yaml:"tags"`
	Labels   map[string]string `yaml:"labels"`
	Every    time.Duration     `yaml:"every"`
	Enabled  bool              `yaml:"enabled"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		fields  map[string]any
		want    sample
		wantErr string
	}{
		{"as YAML decodes it", map[string]any{
			"url": "http://127.0.0.1:9093", "priority": 4, "tags": []any{"a", "b"},
			"labels": map[string]any{"team": "ops", "env": "prod"}, "every": "90s", "enabled": true,
		}, sample{URL: "http://127.0.0.1:9093", Priority: 4, Tags: []string{"a", "b"},
			Labels: map[string]string{"team": "ops", "env": "prod"}, Every: 90 * time.Second, Enabled: true}, ""},
		{"a duration already parsed", map[string]any{"every": 2 * time.Minute}, sample{Every: 2 * time.Minute}, ""},
		{"common notifier keys are skipped", map[string]any{
			"type": "ntfy", "name": "phone", "outages": true, "recoveries": "yes", "reminders": 0, "url": "http://h",
		}, sample{URL: "http://h"}, ""},
		{"nil fields", nil, sample{}, ""},
		{"unknown keys", map[string]any{"url": "http://h", "prio": 1, "tag": "x"}, sample{},
			"unknown field(s) prio, tag (known: enabled, every, labels, priority, tags, url)"},
		{"wrong type", map[string]any{"priority": "high"}, sample{},
			"cannot unmarshal !!str `high` into int"},
		{"two wrong types", map[string]any{"priority": "high", "tags": "a"}, sample{},
			"cannot unmarshal !!str `high` into int; cannot unmarshal !!str `a` into []string"},
		{"duration as a number", map[string]any{"every": 60}, sample{},
			"cannot unmarshal !!int `60` into time.Duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got sample
			err := Decode(tt.fields, &got)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.want.URL || got.Priority != tt.want.Priority || got.Every != tt.want.Every ||
				got.Enabled != tt.want.Enabled || strings.Join(got.Tags, ",") != strings.Join(tt.want.Tags, ",") ||
				len(got.Labels) != len(tt.want.Labels) || got.Labels["team"] != tt.want.Labels["team"] || got.Labels["env"] != tt.want.Labels["env"] {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"https://hooks.slack.com/services/T/B/X", ""},
		{"http://127.0.0.1:8080/x?y=1", ""},
		{"", "url is required"},
		{"hooks.slack.com/services/x", `url: scheme must be http or https, not ""`},
		{"ftp://h/x", `url: scheme must be http or https, not "ftp"`},
		{"http:///x", `url: no host in "http:///x"`},
		{"http://h/%zz", `url: parse "http://h/%zz": invalid URL escape "%zz"`},
	}
	for _, tt := range tests {
		err := CheckURL("url", tt.raw)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestDoHeaders(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, body = r, string(b)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	err := Do(context.Background(), NewClient(), Request{
		Method: http.MethodPost, URL: srv.URL + "/hook?a=1", Body: []byte("hello"), ContentType: "text/plain",
		Header:         http.Header{"Content-Type": {"application/x-custom"}, "X-Token": {"t1"}},
		IdempotencyKey: "evt-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Content-Type": "application/x-custom", "X-Token": "t1", "Idempotency-Key": "evt-1", "User-Agent": "zappy/1",
	}
	for k, v := range want {
		if got.Header.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, got.Header.Get(k), v)
		}
	}
	if got.Method != "POST" || got.RequestURI != "/hook?a=1" || body != "hello" {
		t.Errorf("got %s %s %q", got.Method, got.RequestURI, body)
	}
}

func TestDoErrors(t *testing.T) {
	long := strings.Repeat("x", 250)
	mux := http.NewServeMux()
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, long)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:1/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		path string
		want string
	}{
		{"/ok", ""},
		{"/moved", ""},
		{"/500", "POST " + host + ": 500 Internal Server Error: boom"},
		{"/404", "POST " + host + ": 404 Not Found"},
		{"/long", "POST " + host + ": 400 Bad Request: " + long[:200] + "…"},
		{"/away", "POST " + host + ": refusing redirect from " + host + " to another host (localhost:1)"},
	}
	for _, tt := range tests {
		err := Do(context.Background(), NewClient(), Request{Method: http.MethodPost, URL: srv.URL + tt.path + "?token=secret", Body: []byte("{}")})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: err = %q, want %q", tt.path, got, tt.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("%s: error shows the URL's secret: %q", tt.path, got)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := Do(ctx, NewClient(), Request{Method: http.MethodGet, URL: srv.URL + "/slow?token=secret"})
	if !errors.Is(err, context.DeadlineExceeded) || err.Error() != "GET "+host+": context deadline exceeded" {
		t.Errorf("slow: err = %v, want the context's deadline", err)
	}

	err = Do(context.Background(), NewClient(), Request{Method: http.MethodPost, URL: "http://127.0.0.1:1/x?token=secret"})
	if err == nil || !strings.HasPrefix(err.Error(), "POST 127.0.0.1:1: dial tcp 127.0.0.1:1: connect:") || strings.Contains(err.Error(), "secret") {
		t.Errorf("refused: err = %v", err)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"héllo wörld", 6, "héllo…"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := Truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "he…"},
		{"aéé", 5, "aéé"},      // exactly 5 bytes: fits
		{"aééé", 6, "aé…"},     // 7 bytes: cut at 3, a rune start
		{"日本語テキスト", 10, "日本…"}, // cut at 7 falls inside 語: back to 6
	}
	for _, tt := range tests {
		if got := TruncateBytes(tt.s, tt.n); got != tt.want || len(got) > tt.n {
			t.Errorf("TruncateBytes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

type validator struct{ err error }

func (v validator) Validate() error { return v.err }

func TestSender(t *testing.T) {
	if _, err := NewSender("slack", "ops", validator{errors.New("webhook_url is required")}); err == nil ||
		err.Error() != `slack notifier "ops": webhook_url is required` {
		t.Errorf("NewSender err = %v", err)
	}
	s, err := NewSender("slack", "ops", validator{})
	if err != nil || s.Name() != "ops" {
		t.Fatalf("NewSender = %+v, %v", s, err)
	}
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, body = r, string(b)
		http.Error(w, "no_team", http.StatusNotFound)
	}))
	defer srv.Close()
	err = s.PostJSON(context.Background(), srv.URL+"/hook", map[string]string{"text": "a<b"}, "evt-1")
	if want := `slack "ops": POST ` + strings.TrimPrefix(srv.URL, "http://") + `: 404 Not Found: no_team`; err == nil || err.Error() != want {
		t.Errorf("PostJSON err = %v, want %s", err, want)
	}
	if got.Method != "POST" || got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Idempotency-Key") != "evt-1" || body != `{"text":"a<b"}` {
		t.Errorf("got %s %q key %q %s", got.Method, got.Header.Get("Content-Type"), got.Header.Get("Idempotency-Key"), body)
	}
	if err := s.PostJSON(context.Background(), srv.URL, make(chan int), ""); err == nil || err.Error() != `slack "ops": json: unsupported type: chan int` {
		t.Errorf("PostJSON of a channel: err = %v", err)
	}
}
