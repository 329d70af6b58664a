package zappy

import (
	"errors"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

func TestHostPort(t *testing.T) {
	tests := []struct {
		in   string
		def  int
		want string
		host string
	}{
		{"tcp://mail.example.com:25", 0, "mail.example.com:25", "mail.example.com"},
		{"udp://192.168.1.1:161", 0, "192.168.1.1:161", "192.168.1.1"},
		{"snmp://switch", 0, "switch:161", "switch"},
		{"snmp://switch:1161", 0, "switch:1161", "switch"},
		{"https://web.example/path?q=1", 0, "web.example:443", "web.example"},
		{"http://user:pw@web:8080/x", 0, "web:8080", "web"},
		{"127.0.0.1:9", 0, "127.0.0.1:9", "127.0.0.1"},
		{"[::1]:53", 0, "[::1]:53", "::1"},
		{"::1", 0, "[::1]", "::1"},
		{"host", 22, "host:22", "host"},
		{"192.168.1.1", 0, "192.168.1.1", "192.168.1.1"},
	}
	for _, tt := range tests {
		if got := HostPort(tt.in, tt.def); got != tt.want {
			t.Errorf("HostPort(%q,%d) = %q, want %q", tt.in, tt.def, got, tt.want)
		}
		if got := Host(tt.in); got != tt.host {
			t.Errorf("Host(%q) = %q, want %q", tt.in, got, tt.host)
		}
	}
}

func TestResultEncoding(t *testing.T) {
	withState := Up("ok").Metric("rtt", 1.5, "ms").Field("code", 200)
	withState.State = map[string]any{"n": 1}
	both := Up("ok").With("z", 1).With("a", 2)
	both.Fields = map[string]any{"a": "map", "m": true}
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{"metric, field, state", withState,
			`{"status":"up","message":"ok","metrics":[{"name":"rtt","value":1.5,"unit":"ms"}],"fields":{"code":200},"state":{"n":1}}`},
		{"With keeps order, replaces by name", Up("ok").With("z", 1).With("a", "x").With("z", 3),
			`{"status":"up","message":"ok","fields":{"z":3,"a":"x"}}`},
		{"With and Fields merged, the map winning", both,
			`{"status":"up","message":"ok","fields":{"a":"map","m":true,"z":1}}`},
		{"Field then With", Up("ok").Field("b", 1).With("a", 2),
			`{"status":"up","message":"ok","fields":{"a":2,"b":1}}`},
		{"fields kept by FailMsg", Up("ok").With("code", 503).FailMsg("bad"),
			`{"status":"down","class":"APPLICATION_ERROR","message":"bad","fields":{"code":503}}`},
		{"WithFloat, past the room's numbers", Up("ok").WithFloat("a", 0.25).WithFloat("b", -1).WithFloat("c", 1e21).With("d", 2.5),
			`{"status":"up","message":"ok","fields":{"a":0.25,"b":-1,"c":1e+21,"d":2.5}}`},
		{"WithFloat replaced by With", Up("ok").WithFloat("a", 1.5).With("a", "x"),
			`{"status":"up","message":"ok","fields":{"a":"x"}}`},
		{"WithFloat merged with Fields", Up("ok").Field("m", 1).WithFloat("ms", 0.5),
			`{"status":"up","message":"ok","fields":{"m":1,"ms":0.5}}`},
		{"past the room's fields and metrics", Up("ok").With("a", 1).With("b", 2).With("c", 3).Metric("x", 1, "").Metric("y", 2, "ms"),
			`{"status":"up","message":"ok","metrics":[{"name":"x","value":1},{"name":"y","value":2,"unit":"ms"}],"fields":{"a":1,"b":2,"c":3}}`},
	}
	for _, tt := range tests {
		var w zjson.Writer
		tt.r.MarshalZJSON(&w)
		if got := string(w.Bytes()); got != tt.want {
			t.Errorf("%s: got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	// Field fills the map, as it always has: code indexing r.Fields after
	// it keeps working.
	r := Up("ok").Field("a", 1)
	r.Fields["b"] = 2
	if len(r.Fields) != 2 {
		t.Errorf("Fields after Field and an index: %v", r.Fields)
	}
	for name, want := range map[string]any{"a": "map", "z": 1, "m": true} {
		if got, ok := both.Lookup(name); !ok || got != want {
			t.Errorf("Lookup(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := both.Lookup("nope"); ok {
		t.Error("Lookup of a missing field found one")
	}
	if got, ok := Up("ok").WithFloat("ms", 0.5).Lookup("ms"); !ok || got != 0.5 {
		t.Errorf("Lookup of a WithFloat field = %v (%T), %v; want 0.5", got, got, ok)
	}
}

// TestResultRoomNotShared: copies of a result that share its room (built
// from one base) each start their metrics and fields lists without
// writing over the other's, as they would with plain appends to nil.
func TestResultRoomNotShared(t *testing.T) {
	base := Up("ok").WithFloat("n", 1) // has a room, its fields taken
	a := base.Metric("m", 1, "")
	b := base.Metric("m", 2, "") // the room's metrics are a's
	c := base
	c.more = nil
	c = c.With("x", "c") // the room's fields are base's
	d := base.WithFloat("n2", 2).WithFloat("n3", 3)
	for _, tt := range []struct {
		name string
		r    Result
		want string
	}{
		{"a", a, `{"status":"up","message":"ok","metrics":[{"name":"m","value":1}],"fields":{"n":1}}`},
		{"b", b, `{"status":"up","message":"ok","metrics":[{"name":"m","value":2}],"fields":{"n":1}}`},
		{"c", c, `{"status":"up","message":"ok","fields":{"x":"c"}}`},
		{"base", base, `{"status":"up","message":"ok","fields":{"n":1}}`},
		{"d", d, `{"status":"up","message":"ok","fields":{"n":1,"n2":2,"n3":3}}`},
	} {
		var w zjson.Writer
		tt.r.MarshalZJSON(&w)
		if got := string(w.Bytes()); got != tt.want {
			t.Errorf("%s: got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestClassFor(t *testing.T) {
	for code, want := range map[string]Class{"refused": ClassExceptionError, "timeout": ClassExceptionError, "pin_mismatch": ClassApplicationError, "": ClassApplicationError} {
		var err error = &Error{Code: code, Message: "x"}
		if code == "" {
			err = errors.New("plain")
		}
		if got := Down(err).Class; got != want {
			t.Errorf("Down(%q).Class = %s, want %s", code, got, want)
		}
	}
}

func TestDownStatusForCheckProblems(t *testing.T) {
	for code, want := range map[string]Status{"invalid": StatusError, "denied": StatusError, "limit": StatusError, "permission": StatusError, "refused": StatusDown, "pin_mismatch": StatusDown} {
		if got := Down(&Error{Code: code, Message: code}).Status; got != want {
			t.Errorf("Down(%s).Status = %s, want %s", code, got, want)
		}
	}
}

func TestRunHandlerRecoversPanic(t *testing.T) {
	res := runHandler(func(c *Check) Result { panic("boom") }, &Check{})
	if res.Status != StatusError || res.Message != "check panicked: boom" {
		t.Fatalf("got %+v", res)
	}
}

func TestParseCheck(t *testing.T) {
	c, err := parseCheck([]byte(`{"check_id":7,"name":"web","type":"http","target":"http://x","timeout_ms":1500,"attempt":2,"deadline_unix_ms":1700000000000,"config":{"expect":"ok"},"state":{"k":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != 7 || c.Name != "web" || c.Type != "http" || c.Target != "http://x" || c.Timeout.Milliseconds() != 1500 ||
		c.Attempt != 2 || c.Deadline.UnixMilli() != 1700000000000 || c.Config.Get("expect").Str() != "ok" || c.State.Get("k").Int() != 1 {
		t.Fatalf("parsed %+v", c)
	}
}

// TestParseCheckKeepsNothingOfTheInput: every part of a check survives the
// reuse of the storage its input was parsed in (parseCheck overwrites it),
// whichever parts the input has.
func TestParseCheckKeepsNothingOfTheInput(t *testing.T) {
	tests := []struct {
		in                string
		name, typ, target string
		config, state     string // Source, "" when missing
	}{
		{`{"check_id":1,"target":"tcp://db:5432"}`, "", "", "tcp://db:5432", "", ""},
		{`{"check_id":1,"name":"only a name"}`, "only a name", "", "", "", ""},
		{`{"check_id":1,"name":"a\"b","type":"tcp","target":"x","config":{},"state":null}`, `a"b`, "tcp", "x", "{}", "null"},
		{`{"check_id":1,"type":"http","config":{"expect":"ok","headers":{"A":"b"}},"state":{"n":[1,2]}}`, "", "http", "", `{"expect":"ok","headers":{"A":"b"}}`, `{"n":[1,2]}`},
		// Longer than the room a check has for its strings (checkBox).
		{`{"check_id":1,"name":"a monitor with a long name","type":"http","target":"https://www.example.com/health"}`,
			"a monitor with a long name", "http", "https://www.example.com/health", "", ""},
	}
	for _, tt := range tests {
		c, err := parseCheck([]byte(tt.in))
		if err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if c.Name != tt.name || c.Type != tt.typ || c.Target != tt.target ||
			string(c.Config.Source()) != tt.config || string(c.State.Source()) != tt.state {
			t.Errorf("%s: name %q type %q target %q config %s state %s", tt.in, c.Name, c.Type, c.Target, c.Config.Source(), c.State.Source())
		}
	}
}

func TestManifestAndRegistry(t *testing.T) {
	saved := types
	defer func() { types = saved }()
	types = nil
	Module("probe", "2.1.0")
	Register(Type{Name: "a", Description: "first", Schema: `{"type":"object"}`, Capabilities: []string{"tcp"}}, func(c *Check) Result { return Up("a") })
	Register(Type{Name: "b"}, func(c *Check) Result { return Up("b") })
	Register(Type{Name: "a"}, func(c *Check) Result { return Up("a2") }) // replaces
	want := `{"abi":1,"name":"probe","version":"2.1.0","mode":"multiplexed","sdk":"go","frames":1,"types":[` +
		`{"name":"a","capabilities":[]},{"name":"b","capabilities":[]}]}`
	if got := string(manifestJSON("multiplexed")); got != want {
		t.Fatalf("manifest\n%s\nwant\n%s", got, want)
	}
	if r := handlerFor("a")(&Check{}); r.Message != "a2" {
		t.Fatalf("handler a: %q", r.Message)
	}
	if handlerFor("zzz") != nil {
		t.Fatal("unknown type has a handler")
	}
}

func TestErrorFrom(t *testing.T) {
	v, _ := zjson.Parse([]byte(`{"n":1,"error":{"code":"refused","message":"connect x: refused"}}`))
	err := errorFrom(v)
	if CodeOf(err) != "refused" || err.Error() != "connect x: refused" {
		t.Fatalf("%v", err)
	}
	v, _ = zjson.Parse([]byte(`{"n":1}`))
	if errorFrom(v) != nil {
		t.Fatal("error from a success")
	}
}

func TestResultEventsEncoding(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want string
	}{
		{"none", Up("ok"), `{"status":"up","message":"ok"}`},
		{"with and without key", Up("2 ports").
			Event("PORT CHANGE", "Gi0/2 oper=down admin=up (was oper=up admin=up)", "if:2").
			Event("PORT MAC CHANGE", `Gi0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF] "quoted"`, ""),
			`{"status":"up","message":"2 ports","events":[` +
				`{"title":"PORT CHANGE","message":"Gi0/2 oper=down admin=up (was oper=up admin=up)","key":"if:2"},` +
				`{"title":"PORT MAC CHANGE","message":"Gi0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF] \"quoted\""}]}`},
		{"on an error result, after state", func() Result {
			r := ErrorMsg("walk failed").Event("PORT CHANGE", "Gi0/3 removed", "if:3")
			r.State = map[string]any{"n": 2}
			return r
		}(), `{"status":"error","message":"walk failed","state":{"n":2},"events":[{"title":"PORT CHANGE","message":"Gi0/3 removed","key":"if:3"}]}`},
	}
	for _, tt := range tests {
		var w zjson.Writer
		tt.r.MarshalZJSON(&w)
		if got := string(w.Bytes()); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestParseCheckNotify(t *testing.T) {
	tests := []struct {
		in    string
		every time.Duration
		n     int
	}{
		{`{"check_id":1,"notify":{"every_ms":600000,"after_every_n":4}}`, 10 * time.Minute, 4},
		{`{"check_id":1,"notify":{"every_ms":1500}}`, 1500 * time.Millisecond, 0},
		{`{"check_id":1}`, 0, 0},
	}
	for _, tt := range tests {
		c, err := parseCheck([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if c.NotifyEvery != tt.every || c.AfterEveryN != tt.n {
			t.Errorf("%s: NotifyEvery %v AfterEveryN %d, want %v %d", tt.in, c.NotifyEvery, c.AfterEveryN, tt.every, tt.n)
		}
	}
}

// TestPacingDelay holds PacingDelay to the daemon's curve: the expected
// values are runtime/pacing.Delay's (sdk/go does not import the host, so
// they are written out; runtime/pacing's tests check the same table).
func TestPacingDelay(t *testing.T) {
	tests := []struct {
		every time.Duration
		n, k  int
		want  time.Duration
	}{
		{600 * time.Second, 4, 0, 0},
		{600 * time.Second, 4, 1, 262500 * time.Millisecond},
		{600 * time.Second, 4, 2, 450 * time.Second},
		{600 * time.Second, 4, 3, 562500 * time.Millisecond},
		{600 * time.Second, 4, 4, 600 * time.Second},
		{600 * time.Second, 4, 9, 600 * time.Second},
		{600 * time.Second, 1, 1, 600 * time.Second},
		{600 * time.Second, 0, 3, 600 * time.Second},
		{60 * time.Second, 3, 1, 33333333333},
		{60 * time.Second, 3, 2, 53333333333},
		{time.Hour, 10, 5, 45 * time.Minute},
		{time.Hour, 10, -1, 0},
	}
	for _, tt := range tests {
		if got := PacingDelay(tt.every, tt.n, tt.k); got != tt.want {
			t.Errorf("PacingDelay(%v, %d, %d) = %v (%d), want %v", tt.every, tt.n, tt.k, got, int64(got), tt.want)
		}
	}
}

// parseCheck is what zappy_start makes of an input (readInput): parsed
// with storage that is reused afterwards, which the check must not notice.
func parseCheck(in []byte) (*Check, error) {
	var d zjson.Doc
	buf := append([]byte(nil), in...)
	v, err := d.Parse(buf)
	if err != nil {
		return nil, err
	}
	c := checkFrom(v)
	for i := range buf {
		buf[i] = 'x'
	}
	if _, err := d.Parse([]byte(`[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]`)); err != nil {
		return nil, err
	}
	return c, nil
}
