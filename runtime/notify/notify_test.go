package notify_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the system has

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 secs"},
		{999 * time.Millisecond, "0 secs"},
		{-5 * time.Second, "0 secs"},
		{45 * time.Second, "45 secs"},
		{59*time.Second + 900*time.Millisecond, "59 secs"},
		{time.Minute, "1 mins 0 secs"},
		{63 * time.Second, "1 mins 3 secs"},
		{59*time.Minute + 59*time.Second, "59 mins 59 secs"},
		{time.Hour, "1 hours 0 mins 0 secs"},
		{2*time.Hour + 5*time.Second, "2 hours 0 mins 5 secs"},
		{24 * time.Hour, "1 days 0 hours 0 mins 0 secs"},
		{3*24*time.Hour + 4*time.Hour + 5*time.Minute + 6*time.Second, "3 days 4 hours 5 mins 6 secs"},
		{400 * 24 * time.Hour, "400 days 0 hours 0 mins 0 secs"},
	}
	for _, tt := range tests {
		if got := notify.FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestTextAndSubject(t *testing.T) {
	ev := hooktest.Events(t)
	tests := []struct {
		name          string
		e             notify.Event
		text, subject string
	}{
		{"outage", ev[notify.KindOutage],
			"web in HomeLab new outage: connect 10.0.0.5:443: connection refused (https://intranet.example/login) at 2:15 PM EDT, down for 0 secs",
			"NEW OUTAGE: web in HomeLab"},
		{"reminder", ev[notify.KindReminder],
			`web in HomeLab is down: 503 Service Unavailable, "maintenance" (https://intranet.example/login) at 2:25 PM EDT, down for 10 mins 5 secs`,
			"REMINDER: web in HomeLab is down"},
		{"recovery", ev[notify.KindRecovery],
			"web in HomeLab is UP (https://intranet.example/login) at 3:17 PM EDT, outage lasted 1 hours 2 mins 3 secs",
			"RECOVERY: web in HomeLab is UP"},
		{"report", ev[notify.KindReport],
			"HomeLab: 2 monitor(s) still failing at 4:15 PM EDT\n" +
				"  web (https://intranet.example/login): 503 Service Unavailable, down for 2 hours 0 mins 0 secs\n" +
				"  db (tcp://10.0.0.9:5432): connection refused, down for 30 mins 0 secs",
			"REPORT: 2 failing in HomeLab"},
		{"empty report", notify.Event{Kind: notify.KindReport, Site: "HomeLab", At: hooktest.Since, Location: time.UTC},
			"HomeLab: 0 monitor(s) still failing at 6:15 PM UTC",
			"REPORT: 0 failing in HomeLab"},
		{"test", ev[notify.KindTest],
			"test notification from zappy for HomeLab at 2:15 PM EDT",
			"TEST: zappy notification for HomeLab"},
		{"multi-line message and no address", notify.Event{
			Kind: notify.KindOutage, Site: "Lab", Monitor: "script", Message: "step 2 failed:\r\n  expected 200\n\tgot 500",
			At: hooktest.Since.Add(45 * time.Second), Since: hooktest.Since, Location: time.UTC},
			"script in Lab new outage: step 2 failed: expected 200 got 500 at 6:15 PM UTC, down for 45 secs",
			"NEW OUTAGE: script in Lab"},
		{"line break in a name", notify.Event{
			Kind: notify.KindRecovery, Site: "Lab\nX", Monitor: "a\nb", Address: "tcp://h:1",
			At: hooktest.Since, Since: hooktest.Since, Location: time.UTC},
			"a b in Lab X is UP (tcp://h:1) at 6:15 PM UTC, outage lasted 0 secs",
			"RECOVERY: a b in Lab X is UP"},
		{"change", ev[notify.KindChange],
			"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT",
			"PORT CHANGE: office-switch in HomeLab"},
		{"change as APMonitor writes it", notify.Event{
			Kind: notify.KindChange, Site: "HomeLab", Monitor: "office-switch", Title: "PORT MAC CHANGE",
			Message: "GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]", At: time.Date(2026, 1, 10, 13, 22, 0, 0, time.UTC), Location: zone(t, "Europe/Berlin")},
			"PORT MAC CHANGE: office-switch in HomeLab: GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF] at 2:22 PM CET",
			"PORT MAC CHANGE: office-switch in HomeLab"},
		{"change without a title, line breaks", notify.Event{
			Kind: notify.KindChange, Site: "Lab", Monitor: "sw", Title: "\n", Message: "Gi0/2\ndown", At: hooktest.Since, Location: time.UTC},
			"CHANGE: sw in Lab: Gi0/2 down at 6:15 PM UTC",
			"CHANGE: sw in Lab"},
		{"unknown kind", notify.Event{Kind: "flapping", Site: "Lab", Monitor: "web", Message: "5 changes", At: hooktest.Since, Location: time.UTC},
			"web in Lab: flapping notification: 5 changes at 6:15 PM UTC",
			"FLAPPING: web in Lab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.Text(tt.e); got != tt.text {
				t.Errorf("Text:\n got %q\nwant %q", got, tt.text)
			}
			if got := notify.Subject(tt.e); got != tt.subject {
				t.Errorf("Subject:\n got %q\nwant %q", got, tt.subject)
			}
		})
	}
}

// TestTextZones renders the same outage in several zones, including a
// recovery across New York's switch to daylight-saving time (2026-03-08
// 02:00 EST → 03:00 EDT): one real hour, shown as 1:30 AM EST → 3:30 AM EDT.
func TestTextZones(t *testing.T) {
	jul := time.Date(2026, 7, 14, 18, 15, 0, 0, time.UTC)
	jan := time.Date(2026, 1, 10, 17, 5, 0, 0, time.UTC)
	dstSince := time.Date(2026, 3, 8, 6, 30, 0, 0, time.UTC)
	tests := []struct {
		zone  string
		kind  notify.Kind
		since time.Time
		at    time.Time
		want  string
	}{
		{"UTC", notify.KindOutage, jul, jul, "web in Lab new outage: refused (tcp://h:1) at 6:15 PM UTC, down for 0 secs"},
		{"America/New_York", notify.KindOutage, jan, jan, "web in Lab new outage: refused (tcp://h:1) at 12:05 PM EST, down for 0 secs"},
		{"America/New_York", notify.KindOutage, dstSince, dstSince, "web in Lab new outage: refused (tcp://h:1) at 1:30 AM EST, down for 0 secs"},
		{"America/New_York", notify.KindRecovery, dstSince, dstSince.Add(time.Hour), "web in Lab is UP (tcp://h:1) at 3:30 AM EDT, outage lasted 1 hours 0 mins 0 secs"},
		{"Europe/Berlin", notify.KindReminder, jan, jan.Add(25 * time.Hour), "web in Lab is down: refused (tcp://h:1) at 7:05 PM CET, down for 1 days 1 hours 0 mins 0 secs"},
		{"Europe/Berlin", notify.KindReminder, jul, jul, "web in Lab is down: refused (tcp://h:1) at 8:15 PM CEST, down for 0 secs"},
		{"Asia/Kolkata", notify.KindOutage, jul, jul, "web in Lab new outage: refused (tcp://h:1) at 11:45 PM IST, down for 0 secs"},
		{"Asia/Dubai", notify.KindOutage, jul, jul, "web in Lab new outage: refused (tcp://h:1) at 10:15 PM +04, down for 0 secs"},
		{"Australia/Lord_Howe", notify.KindOutage, jul, jul, "web in Lab new outage: refused (tcp://h:1) at 4:45 AM +1030, down for 0 secs"},
		{"Australia/Lord_Howe", notify.KindOutage, jan, jan, "web in Lab new outage: refused (tcp://h:1) at 4:05 AM +11, down for 0 secs"},
	}
	for _, tt := range tests {
		e := notify.Event{Kind: tt.kind, Site: "Lab", Monitor: "web", Address: "tcp://h:1", Message: "refused",
			Since: tt.since, At: tt.at, Location: zone(t, tt.zone)}
		if got := notify.Text(e); got != tt.want {
			t.Errorf("%s %s at %v:\n got %q\nwant %q", tt.zone, tt.kind, tt.at, got, tt.want)
		}
	}
}

func TestTimeDefaultsToLocal(t *testing.T) {
	at := time.Date(2026, 7, 14, 18, 15, 0, 0, time.UTC)
	want := at.In(time.Local).Format("3:04 PM MST")
	if got := notify.Time(at, nil); got != want {
		t.Errorf("Time(nil zone) = %q, want %q (time.Local)", got, want)
	}
	fixed := time.FixedZone("", -3*3600)
	if got := notify.Time(at, fixed); got != "3:15 PM -0300" {
		t.Errorf("Time(fixed -3h) = %q, want %q", got, "3:15 PM -0300")
	}
}

func TestEventJSON(t *testing.T) {
	e := hooktest.Events(t)[notify.KindReminder]
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"evt-2","kind":"reminder","site":"HomeLab","monitor":"web","type":"http",` +
		`"address":"https://intranet.example/login","message":"503 Service Unavailable, \"maintenance\"",` +
		`"at":"2026-07-14T18:25:05Z","since":"2026-07-14T18:15:00Z","seq":2,"outage_id":"out-7","location":"America/New_York"}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	var back notify.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Location == nil || back.Location.String() != "America/New_York" {
		t.Fatalf("Location after round trip = %v", back.Location)
	}
	if notify.Text(back) != notify.Text(e) {
		t.Errorf("Text after round trip = %q, want %q", notify.Text(back), notify.Text(e))
	}
	back.Location, e.Location = nil, nil
	if !reflect.DeepEqual(back, e) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, e)
	}

	report := hooktest.Events(t)[notify.KindReport]
	b, err = json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	var back2 notify.Event
	if err := json.Unmarshal(b, &back2); err != nil {
		t.Fatal(err)
	}
	if notify.Text(back2) != notify.Text(report) {
		t.Errorf("report after round trip:\n got %q\nwant %q", notify.Text(back2), notify.Text(report))
	}

	change := hooktest.Events(t)[notify.KindChange]
	b, err = json.Marshal(change)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"id":"evt-6","kind":"change","site":"HomeLab","monitor":"office-switch","type":"ports","address":"snmp://10.0.0.2",` +
		`"message":"GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)","title":"PORT CHANGE","key":"if:2",` +
		`"at":"2026-07-14T18:22:00Z","location":"America/New_York"}`
	if string(b) != want {
		t.Errorf("change JSON:\n got %s\nwant %s", b, want)
	}
	var back3 notify.Event
	if err := json.Unmarshal(b, &back3); err != nil {
		t.Fatal(err)
	}
	back3.Location, change.Location = nil, nil
	if !reflect.DeepEqual(back3, change) {
		t.Errorf("change round trip:\n got %+v\nwant %+v", back3, change)
	}

	// A zone this system cannot load falls back to time.Local.
	var odd notify.Event
	if err := json.Unmarshal([]byte(`{"id":"x","kind":"test","site":"S","at":"2026-07-14T18:15:00Z","location":"Mars/Olympus_Mons"}`), &odd); err != nil {
		t.Fatal(err)
	}
	if odd.Location != nil {
		t.Errorf("unknown zone: Location = %v, want nil", odd.Location)
	}
}
