package state

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/runtime/check"
)

var ctx = context.Background()

// openTest opens a fresh store in a temporary directory.
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "site.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func apply(t testing.TB, s *Store, updates ...Update) {
	t.Helper()
	if err := s.Apply(ctx, updates); err != nil {
		t.Fatal(err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// zone is a non-UTC zone with an odd offset, so that a store that kept
// local wall clocks instead of instants would be caught.
var zone = time.FixedZone("X", 5*3600+45*60)

// t0 has nanoseconds, to catch any loss of sub-second precision.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456789, zone)

func TestDefaultPath(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		xdg    string
		config string
		want   string
	}{
		{"xdg", "/var/lib/x", "/etc/zappy/site.yaml", "/var/lib/x/zappy/site.db"},
		{"xdg relative is ignored", "rel/state", "site.yml", filepath.Join(home, ".local/state/zappy/site.db")},
		{"home", "", "/etc/zappy/site.yaml", filepath.Join(home, ".local/state/zappy/site.db")},
		{"several dots", "", "prod.site.yaml", filepath.Join(home, ".local/state/zappy/prod.site.db")},
		{"no extension", "/s", "conf/site", "/s/zappy/site.db"},
		{"dot file", "/s", ".zappy", "/s/zappy/zappy.db"},
		{"empty", "/s", "", "/s/zappy/zappy.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			if got := DefaultPath(tt.config); got != tt.want {
				t.Errorf("DefaultPath(%q) = %q, want %q", tt.config, got, tt.want)
			}
		})
	}
	t.Run("no home", func(t *testing.T) {
		t.Setenv("XDG_STATE_HOME", "")
		t.Setenv("HOME", "")
		if got, want := DefaultPath("/etc/zappy/site.yaml"), "/etc/zappy/site.db"; got != want {
			t.Errorf("DefaultPath = %q, want %q", got, want)
		}
	})
}

func TestOpenCreatesAndConfigures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	// '?', '#' and '%' would break a naively built SQLite URI.
	path := filepath.Join(dir, "we?ird#na%20me.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	for p, want := range map[string]os.FileMode{dir: 0o750 | os.ModeDir, path: 0o640} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
	}
	if err := s.SetMeta(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no WAL file next to the database: %v", err)
	}

	// Every pooled connection carries the settings; hold several at once.
	conns := make([]interface{ Close() error }, 3)
	for i := range conns {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
		for _, p := range []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"},
			{"foreign_keys", "1"},
			{"busy_timeout", "10000"},
			{"user_version", fmt.Sprint(len(migrations))},
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("conn %d: PRAGMA %s = %s, want %s", i, p.pragma, got, p.want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenSchemaVersions(t *testing.T) {
	s, path := openTest(t)
	if err := s.SetMeta(ctx, "kept", "yes"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening an up-to-date database changes nothing.
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	v, ok, err := s.Meta(ctx, "kept")
	if v != "yes" || !ok || err != nil {
		t.Fatalf("Meta after reopen = %q, %v, %v", v, ok, err)
	}

	// A database from a newer zappy is refused, not scribbled on.
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path)
	want := fmt.Sprintf("state %s: schema version 99 is newer than this zappy supports (%d)", path, len(migrations))
	if errString(err) != want {
		t.Fatalf("Open error = %q, want %q", errString(err), want)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, []byte("this is not an SQLite database, not at all, no"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil {
		t.Fatal("Open of a junk file succeeded")
	}
	if prefix := "state " + path + ": "; len(errString(err)) < len(prefix) || errString(err)[:len(prefix)] != prefix {
		t.Errorf("error %q does not start with %q", errString(err), prefix)
	}
}

func TestMeta(t *testing.T) {
	s, _ := openTest(t)
	if v, ok, err := s.Meta(ctx, "missing"); v != "" || ok || err != nil {
		t.Errorf("Meta(missing) = %q, %v, %v", v, ok, err)
	}
	for _, v := range []string{"one", "", "two\nlines ü"} {
		if err := s.SetMeta(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.Meta(ctx, "k"); got != v || !ok || err != nil {
			t.Errorf("Meta(k) = %q, %v, %v; want %q, true, nil", got, ok, err, v)
		}
	}
}

// inUTC is m as the store returns it: every time in UTC, without a
// monotonic reading.
func inUTC(m MonitorState) MonitorState {
	for _, p := range []*time.Time{&m.LastChecked, &m.LastNotified, &m.LastAlarmStarted,
		&m.LastSuccessfulHeartbeat, &m.NextNotification, &m.LastSeen} {
		if !p.IsZero() {
			*p = p.UTC()
		}
	}
	return m
}

func fullState(name string) MonitorState {
	return MonitorState{
		Name:                    name,
		IsUp:                    true,
		LastChecked:             t0,
		LastResponseTimeMS:      12.345678,
		LastNotified:            t0.Add(-time.Minute + 1),
		LastAlarmStarted:        t0.Add(-time.Hour),
		LastSuccessfulHeartbeat: t0.Add(-2*time.Second - 999),
		DownCount:               3,
		NotifiedCount:           2,
		ErrorReason:             "connection refused",
		LastConfigChecksum:      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Status:                  check.Degraded,
		OutageID:                "01J0000000000000000000000A",
		ConsecutiveFailures:     4,
		ConsecutiveSuccesses:    5,
		RecentStatuses:          "uuDdeu",
		Flapping:                true,
		NextNotification:        t0.Add(90 * time.Second),
		ModuleState:             json.RawMessage(`{"etag":"\"abc\"","n":[1,2]}`),
		LastSeen:                t0.Add(time.Nanosecond),
	}
}

func TestMonitorRoundTrip(t *testing.T) {
	now := time.Now() // carries a monotonic reading and the local zone
	tests := []struct {
		name string
		in   MonitorState
	}{
		{"every field", fullState("web")},
		{"zero state", MonitorState{Name: "zero"}},
		{"empty module state", MonitorState{Name: "empty", ModuleState: json.RawMessage{}}},
		{"null module state", MonitorState{Name: "null", ModuleState: json.RawMessage(`null`)}},
		{"now", MonitorState{Name: "now", LastChecked: now, Status: check.Up}},
		{"before 1970", MonitorState{Name: "old", LastChecked: time.Date(1969, 7, 20, 20, 17, 40, 5, time.UTC)}},
		{"unicode and negatives", MonitorState{Name: "dns ü 名前", DownCount: -1, LastResponseTimeMS: math.Inf(1),
			ErrorReason: "line1\nline2\x00nul"}},
	}
	s, _ := openTest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			apply(t, s, Update{Monitor: &in})
			got, ok, err := s.Monitor(ctx, tt.in.Name)
			if err != nil || !ok {
				t.Fatalf("Monitor(%q) = _, %v, %v", tt.in.Name, ok, err)
			}
			if want := inUTC(tt.in); !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, want)
			}
			if (got.ModuleState == nil) != (tt.in.ModuleState == nil) {
				t.Errorf("ModuleState nil-ness changed: got %#v, want %#v", got.ModuleState, tt.in.ModuleState)
			}
		})
	}
	all, err := s.Monitors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(tests) {
		t.Errorf("Monitors has %d entries, want %d", len(all), len(tests))
	}
	for _, tt := range tests {
		if got := all[tt.in.Name]; !reflect.DeepEqual(got, inUTC(tt.in)) {
			t.Errorf("Monitors()[%q] = %#v, want %#v", tt.in.Name, got, inUTC(tt.in))
		}
	}
	if _, ok, err := s.Monitor(ctx, "absent"); ok || err != nil {
		t.Errorf("Monitor(absent) = _, %v, %v; want false, nil", ok, err)
	}
}

func TestMonitorOverwriteAndLastSeen(t *testing.T) {
	s, _ := openTest(t)
	a := fullState("m")
	apply(t, s, Update{Monitor: &a})

	// A later state replaces every field; LastSeen only moves forward.
	b := MonitorState{Name: "m", Status: check.Down, LastSeen: t0.Add(-time.Hour)}
	apply(t, s, Update{Monitor: &b})
	want := b
	want.LastSeen = a.LastSeen
	if got, _, _ := s.Monitor(ctx, "m"); !reflect.DeepEqual(got, inUTC(want)) {
		t.Errorf("after older LastSeen:\n got %#v\nwant %#v", got, inUTC(want))
	}

	c := MonitorState{Name: "m", Status: check.Up} // zero LastSeen keeps the stored one
	apply(t, s, Update{Monitor: &c})
	want = c
	want.LastSeen = a.LastSeen
	if got, _, _ := s.Monitor(ctx, "m"); !reflect.DeepEqual(got, inUTC(want)) {
		t.Errorf("after zero LastSeen:\n got %#v\nwant %#v", got, inUTC(want))
	}

	// MarkSeen with a later time wins, with an earlier one does not.
	later := t0.Add(time.Hour)
	if err := s.MarkSeen(ctx, []string{"m"}, later); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSeen(ctx, []string{"m"}, t0); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Monitor(ctx, "m"); !got.LastSeen.Equal(later) || got.Status != check.Up {
		t.Errorf("after MarkSeen: LastSeen %v, Status %q; want %v, up", got.LastSeen, got.Status, later)
	}
}

func TestApplyRejectsInvalid(t *testing.T) {
	tests := []struct {
		name string
		u    Update
		want string
	}{
		{"monitor without name", Update{Monitor: &MonitorState{}},
			"state: apply: update 0: monitor state has no name"},
		{"NaN response time", Update{Monitor: &MonitorState{Name: "m", LastResponseTimeMS: math.NaN()}},
			"state: apply: update 0: last_response_time_ms is NaN"},
		{"time out of range", Update{Monitor: &MonitorState{Name: "m", LastNotified: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}},
			"state: apply: update 0: last_notified 2300-01-01T00:00:00Z is outside the storable range (years 1678–2261)"},
		{"history without monitor", Update{History: &HistoryRow{At: t0}},
			"state: apply: update 0: history row has no monitor"},
		{"history without time", Update{History: &HistoryRow{Monitor: "m"}},
			`state: apply: update 0: history of "m": history time is not set`},
		{"history NaN latency", Update{History: &HistoryRow{Monitor: "m", At: t0, LatencyMS: math.NaN()}},
			`state: apply: update 0: history of "m": latency_ms is NaN`},
		{"history NaN metric", Update{History: &HistoryRow{Monitor: "m", At: t0, Metrics: []check.Metric{{Name: "x", Value: math.NaN()}}}},
			`state: apply: update 0: history of "m": metrics: json: unsupported value: NaN`},
		{"outbox without channel", Update{Outbox: []OutboxItem{{ID: "a"}}},
			`state: apply: update 0: outbox item "a" has no channel`},
		{"outbox unknown state", Update{Outbox: []OutboxItem{{ID: "a", Channel: "c", State: "lost"}}},
			`state: apply: update 0: outbox item "a": unknown state "lost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			if err := s.Apply(ctx, []Update{tt.u}); errString(err) != tt.want {
				t.Errorf("Apply error = %q, want %q", errString(err), tt.want)
			}
		})
	}
}

// counts is what the store holds, for checking that nothing was left behind.
type counts struct{ monitors, history, outbox int }

func countAll(t testing.TB, s *Store) counts {
	t.Helper()
	var c counts
	for q, p := range map[string]*int{
		"SELECT count(*) FROM monitors": &c.monitors,
		"SELECT count(*) FROM history":  &c.history,
		"SELECT count(*) FROM outbox":   &c.outbox,
	} {
		if err := s.db.QueryRowContext(ctx, q).Scan(p); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestApplyIsAtomic(t *testing.T) {
	good := func(name, outboxID string) Update {
		return Update{
			Monitor: &MonitorState{Name: name, Status: check.Down},
			History: &HistoryRow{Monitor: name, At: t0, Status: check.Down},
			Outbox:  []OutboxItem{{ID: outboxID, Channel: "mail", Monitor: name, Kind: "outage"}},
		}
	}
	tests := []struct {
		name    string
		updates []Update
		want    string
	}{
		{"duplicate outbox id in the batch", []Update{good("a", "X"), good("b", "Y"), {Outbox: []OutboxItem{{ID: "X", Channel: "sms"}}}},
			`state: apply: update 2: outbox item "X": constraint failed: UNIQUE constraint failed: outbox.id (1555)`},
		{"outbox id already stored", []Update{good("c", "Z"), good("d", "stored")},
			`state: apply: update 1: outbox item "stored": constraint failed: UNIQUE constraint failed: outbox.id (1555)`},
		{"invalid last item", []Update{good("e", "E"), {History: &HistoryRow{Monitor: "e"}}},
			`state: apply: update 1: history of "e": history time is not set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			apply(t, s, good("pre", "stored"))
			before := countAll(t, s)
			if err := s.Apply(ctx, tt.updates); errString(err) != tt.want {
				t.Fatalf("Apply error = %q, want %q", errString(err), tt.want)
			}
			if after := countAll(t, s); after != before {
				t.Errorf("failed Apply left rows behind: before %+v, after %+v", before, after)
			}
			if got, _, _ := s.Monitor(ctx, "pre"); got.Status != check.Down {
				t.Errorf("earlier state damaged: %#v", got)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	s, _ := openTest(t)
	rows := []HistoryRow{
		{Monitor: "web", At: t0, Status: check.Up, Class: check.Success, LatencyMS: 12.5, Message: "200 OK",
			Attempts: 1, Metrics: []check.Metric{{Name: "total_ms", Value: 12.5, Unit: "ms"}, {Name: "size", Value: 1024}},
			Fields: json.RawMessage(`{"status_code":200,"headers":{"a":"b"}}`)},
		{Monitor: "web", At: t0.Add(time.Second + 1), Status: check.Down, Class: check.ApplicationError,
			Message: "503", Attempts: 3, Metrics: []check.Metric{}, Fields: json.RawMessage{}},
		{Monitor: "dns", At: t0.Add(500 * time.Millisecond), Status: check.Error, Class: check.ExceptionError,
			Message: "timeout"},
		{Monitor: "web", At: t0.Add(2 * time.Second), Status: check.Degraded, Class: check.Success, Message: "slow"},
	}
	var updates []Update
	for i := range rows {
		updates = append(updates, Update{History: &rows[i]})
	}
	apply(t, s, updates...)
	utc := func(idx ...int) []HistoryRow {
		out := []HistoryRow{}
		for _, i := range idx {
			r := rows[i]
			r.At = r.At.UTC()
			out = append(out, r)
		}
		return out
	}
	tests := []struct {
		name    string
		monitor string
		since   time.Time
		limit   int
		want    []HistoryRow
	}{
		{"all of web, newest first", "web", time.Time{}, 0, utc(3, 1, 0)},
		{"limit", "web", time.Time{}, 2, utc(3, 1)},
		{"since is inclusive", "web", t0.Add(time.Second + 1), 0, utc(3, 1)},
		{"since just after", "web", t0.Add(time.Second + 2), 0, utc(3)},
		{"every monitor", "", time.Time{}, -1, utc(3, 1, 2, 0)},
		{"other monitor", "dns", time.Time{}, 0, utc(2)},
		{"unknown monitor", "nope", time.Time{}, 0, []HistoryRow{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.History(ctx, tt.monitor, tt.since, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				got = []HistoryRow{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("History:\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
	// nil and empty stay apart.
	got, _ := s.History(ctx, "web", time.Time{}, 0)
	if got[0].Metrics != nil || got[0].Fields != nil {
		t.Errorf("nil Metrics/Fields came back as %#v / %#v", got[0].Metrics, got[0].Fields)
	}
	if got[1].Metrics == nil || got[1].Fields == nil {
		t.Errorf("empty Metrics/Fields came back nil")
	}
}

func TestPruneHistory(t *testing.T) {
	s, _ := openTest(t)
	var updates []Update
	for i := range 5 {
		updates = append(updates, Update{History: &HistoryRow{Monitor: "m", At: t0.Add(time.Duration(i) * time.Minute), Message: fmt.Sprint(i)}})
	}
	updates = append(updates, Update{Outbox: []OutboxItem{
		{ID: "sent-old", Channel: "c", CreatedAt: t0},
		{ID: "dead-old", Channel: "c", CreatedAt: t0},
		{ID: "pending-old", Channel: "c", CreatedAt: t0},
		{ID: "sent-new", Channel: "c", CreatedAt: t0.Add(time.Hour)},
	}})
	apply(t, s, updates...)
	for _, id := range []string{"sent-old", "sent-new"} {
		if err := s.MarkSending(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkSent(ctx, id, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkDead(ctx, "dead-old", "gave up"); err != nil {
		t.Fatal(err)
	}

	n, err := s.PruneHistory(ctx, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // two history rows, sent-old, dead-old
		t.Errorf("PruneHistory deleted %d rows, want 4", n)
	}
	got, _ := s.History(ctx, "m", time.Time{}, 0)
	var msgs []string
	for _, r := range got {
		msgs = append(msgs, r.Message)
	}
	if want := []string{"4", "3", "2"}; !reflect.DeepEqual(msgs, want) {
		t.Errorf("history left: %q, want %q", msgs, want)
	}
	var ids []string
	r, err := s.db.QueryContext(ctx, "SELECT id FROM outbox ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var id string
		r.Scan(&id)
		ids = append(ids, id)
	}
	r.Close()
	if want := []string{"pending-old", "sent-new"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("outbox left: %q, want %q", ids, want)
	}
	if _, err := s.PruneHistory(ctx, time.Time{}); errString(err) != "state: prune history: cut-off time is not set" {
		t.Errorf("PruneHistory(zero) error = %v", err)
	}
}

func TestPruneMonitors(t *testing.T) {
	s, _ := openTest(t)
	t1, t2 := t0, t0.Add(time.Hour)
	var updates []Update
	for _, n := range []string{"a", "b", "c"} {
		updates = append(updates, Update{
			Monitor: &MonitorState{Name: n, Status: check.Up},
			History: &HistoryRow{Monitor: n, At: t1, Message: n},
		})
	}
	updates = append(updates, Update{Outbox: []OutboxItem{{ID: "b-recovery", Channel: "mail", Monitor: "b", Kind: "recovery"}}})
	apply(t, s, updates...)
	if err := s.MarkSeen(ctx, []string{"a", "b", "d"}, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSeen(ctx, []string{"a"}, t2); err != nil {
		t.Fatal(err)
	}
	// d is marked seen but has no state yet: Monitor does not report it.
	if _, ok, err := s.Monitor(ctx, "d"); ok || err != nil {
		t.Errorf("Monitor(d) = _, %v, %v; want false, nil", ok, err)
	}
	if all, _ := s.Monitors(ctx); len(all) != 3 {
		t.Errorf("Monitors has %d entries, want 3", len(all))
	}

	pruned, err := s.PruneMonitors(ctx, t2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b", "d"}; !reflect.DeepEqual(pruned, want) {
		t.Errorf("PruneMonitors = %q, want %q", pruned, want)
	}
	all, _ := s.Monitors(ctx)
	var names []string
	for n := range all {
		names = append(names, n)
	}
	if len(all) != 2 || all["a"].Name != "a" || all["c"].Name != "c" {
		t.Errorf("monitors left: %q, want a and c (c was never marked seen)", names)
	}
	h, _ := s.History(ctx, "", time.Time{}, 0)
	var hist []string
	for _, r := range h {
		hist = append(hist, r.Monitor)
	}
	if len(hist) != 2 || h[0].Monitor == "b" || h[1].Monitor == "b" {
		t.Errorf("history left for %q, want a and c", hist)
	}
	if n, _ := s.PendingCount(ctx); n != 1 {
		t.Errorf("PendingCount = %d, want 1 (b's recovery notice stays)", n)
	}
	if pruned, err := s.PruneMonitors(ctx, t2); len(pruned) != 0 || err != nil {
		t.Errorf("second PruneMonitors = %q, %v", pruned, err)
	}
	if err := s.MarkSeen(ctx, []string{"x", ""}, t2); errString(err) != "state: mark seen: empty monitor name" {
		t.Errorf("MarkSeen with empty name: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM monitors WHERE name = 'x'").Scan(&n); err != nil || n != 0 {
		t.Errorf("failed MarkSeen left x behind (%d rows, %v)", n, err)
	}
}
