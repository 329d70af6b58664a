// Package zappy is the guest SDK for writing zappy check modules in Go.
//
// A check module is a WebAssembly module (GOOS=wasip1 GOARCH=wasm,
// -buildmode=c-shared) that registers one or more check types. The zappy host
// runs it in a sandbox and lends it network primitives (TCP, UDP, HTTP,
// HTTP/3, TLS, ICMP, SNMP). Check code reads as plain synchronous Go:
//
//	func init() {
//		zappy.Module("smtp-check", "1.0.0")
//		zappy.Register(zappy.Type{Name: "smtp"}, checkSMTP)
//	}
//
//	func checkSMTP(c *zappy.Check) zappy.Result {
//		conn, err := c.DialTCP(c.Target, nil)
//		if err != nil {
//			return zappy.Down(err)
//		}
//		defer conn.Close()
//		banner, err := conn.ReadLine()
//		...
//		return zappy.Up("banner " + banner)
//	}
//
//	func main() {}
//
// Under the hood every primitive is asynchronous: the SDK runs each check on
// its own goroutine, parks it while the host works, and wakes it when the
// result arrives, so one module instance serves thousands of checks at once.
// Panics in a check are recovered and reported as status error for that check
// only. A parked check costs its goroutine (about 4 KiB of stack); types meant
// to run by the thousand can be written with callbacks instead (RegisterThen
// and the ...Then forms of the TCP primitives), which need no goroutine. See
// sdk/ABI.md for the contract this package implements.
package zappy

import (
	"strings"
	"time"
	"unsafe"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// ABIVersion is the version of sdk/ABI.md this SDK speaks.
const ABIVersion = 1

// Status is the outcome of a check.
type Status string

// The four statuses, mapped to Nagios exit codes 0..3 by the CLI.
const (
	StatusUp       Status = "up"
	StatusDegraded Status = "degraded"
	StatusDown     Status = "down"
	StatusError    Status = "error"
)

// Class is pmon's result class.
type Class string

// Result classes: SUCCESS when the service behaved, APPLICATION_ERROR when it
// answered wrongly, EXCEPTION_ERROR when it could not be reached at all.
const (
	ClassSuccess          Class = "SUCCESS"
	ClassApplicationError Class = "APPLICATION_ERROR"
	ClassExceptionError   Class = "EXCEPTION_ERROR"
)

// Metric is one Nagios-perfdata-style measurement.
type Metric struct {
	Name  string
	Value float64
	// Unit is "ms", "s", "%", "B", "c" (counter) or "" (a plain number).
	// Other units ("B/s") are allowed; Nagios perfdata shows their values
	// without the unit.
	Unit string
}

// Event is a notification a module asks the host to send now, beside the
// check's status: a state change it detected (a switch port going down).
// The daemon sends each event of a result to the monitor's channels as a
// "change" notification while the monitor itself may well stay up; the
// module decides which changes are worth telling, and paces them itself
// (see Check.NotifyEvery and PacingDelay).
type Event struct {
	Title   string // short, upper case by convention: "PORT CHANGE"
	Message string // one line: "Gi0/2 oper=down admin=up (was oper=up admin=up)"
	Key     string // what changed, stable across runs ("if:3"); optional
}

// Result is what a check returns.
type Result struct {
	Status    Status
	Class     Class // empty: the host derives it from Status
	Message   string
	LatencyMS float64 // 0: the host uses the check's wall time
	Metrics   []Metric
	// Fields are exposed to `assert:` expressions, e.g. {"code": 200}.
	// Values may be nil, bool, string, numbers, []byte, []any, []string,
	// map[string]any, map[string]string, zjson.Value or a zjson.Marshaler.
	// Result.With is the cheaper way to set a few (see there).
	Fields map[string]any
	// State is kept by the host and handed back as Check.State next run.
	// Same value kinds as Fields; nil keeps nothing.
	State any
	// Events are notifications to send now (sdk/ABI.md, "events"). They
	// are delivered whatever the status, error included.
	Events []Event

	more []field // set by With, in the order set
	room *resultRoom
}

type field struct {
	name  string
	value any // a roomNum for WithFloat's numbers
}

// resultRoom holds a result's first fields (With), metrics (Metric) and
// numbers (WithFloat) in one allocation instead of one each: inside wasm
// every allocation costs a few hundred nanoseconds, and connect-only checks
// run by the thousand. Copies of a result share it; each array is handed
// out once, so two copies that both start a list do not write over each
// other (the second gets a list of its own).
type resultRoom struct {
	fields       [2]field
	metrics      [1]Metric
	nums         [2]float64
	numsUsed     uint8
	fieldsTaken  bool
	metricsTaken bool
}

// roomNum is a number set by WithFloat, kept in the result's room: a
// pointer-shaped value, which an interface holds without an allocation.
// It writes itself as the number.
type roomNum struct{ p *float64 }

func (n roomNum) MarshalZJSON(w *zjson.Writer) { w.Float(*n.p) }

func (r *Result) spare() *resultRoom {
	if r.room == nil {
		r.room = new(resultRoom)
	}
	return r.room
}

// Up builds an up result.
func Up(msg string) Result { return Result{Status: StatusUp, Message: msg} }

// Degraded builds a degraded result.
func Degraded(msg string) Result { return Result{Status: StatusDegraded, Message: msg} }

// Down builds a down result from an error; an *Error with a connection-level
// code (refused, timeout, dns, ...) gives class EXCEPTION_ERROR, anything
// else APPLICATION_ERROR. Errors that say the check itself could not run —
// codes invalid (a bad request or configuration), denied and limit (the
// sandbox), permission (the host's setup) — give status error instead: the
// target was never really asked.
func Down(err error) Result {
	switch CodeOf(err) {
	case "invalid", "denied", "limit", "permission":
		return Result{Status: StatusError, Class: ClassExceptionError, Message: errText(err)}
	}
	r := Result{Status: StatusDown, Message: errText(err)}
	r.Class = ClassFor(err)
	return r
}

// DownMsg builds a down result for a service that answered wrongly.
func DownMsg(msg string) Result {
	return Result{Status: StatusDown, Class: ClassApplicationError, Message: msg}
}

// ErrorMsg builds an error result: the check itself could not run (bad config,
// sandbox refusal). Nagios UNKNOWN.
func ErrorMsg(msg string) Result { return Result{Status: StatusError, Message: msg} }

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ClassFor classifies an error the way Down does.
func ClassFor(err error) Class {
	switch CodeOf(err) {
	case "timeout", "refused", "unreachable", "dns", "reset", "canceled", "permission":
		return ClassExceptionError
	}
	return ClassApplicationError
}

// Fail turns r into a down result for err (class as Down decides), keeping
// the fields and metrics gathered so far.
func (r Result) Fail(err error) Result {
	d := Down(err)
	r.Status, r.Class, r.Message = d.Status, d.Class, d.Message
	return r
}

// FailMsg turns r into a down result for a service that answered wrongly,
// keeping the fields and metrics gathered so far.
func (r Result) FailMsg(msg string) Result {
	r.Status, r.Class, r.Message = StatusDown, ClassApplicationError, msg
	return r
}

// Metric adds a metric and returns the result for chaining.
func (r Result) Metric(name string, value float64, unit string) Result {
	if r.Metrics == nil {
		if room := r.spare(); !room.metricsTaken {
			room.metricsTaken = true
			r.Metrics = room.metrics[:0]
		}
	}
	r.Metrics = append(r.Metrics, Metric{Name: name, Value: value, Unit: unit})
	return r
}

// Field sets one assertion field in r.Fields and returns the result for
// chaining.
func (r Result) Field(name string, value any) Result {
	if r.Fields == nil {
		r.Fields = map[string]any{}
	}
	r.Fields[name] = value
	return r
}

// With sets one assertion field like Field, but keeps it in a short list
// in the order set instead of the Fields map: no map to build, hash and
// sort, which inside wasm costs a few microseconds per result — for check
// types run by the thousand. Such fields are sent with the result but are
// not in r.Fields (Lookup finds them); a name set both ways sends the
// map's value. Like Metric it appends: build a result in one chain, since
// copies of a Result taken between two With calls share the list.
func (r Result) With(name string, value any) Result {
	for i := range r.more {
		if r.more[i].name == name {
			r.more[i].value = value
			return r
		}
	}
	if r.more == nil {
		if room := r.spare(); !room.fieldsTaken {
			room.fieldsTaken = true
			r.more = room.fields[:0]
		} else {
			r.more = make([]field, 0, 4)
		}
	}
	r.more = append(r.more, field{name, value})
	return r
}

// WithFloat is With for a number, without the allocation that putting a
// float64 in an interface costs (the first few numbers of a result are
// kept in storage it already has). Lookup returns it as a float64.
func (r Result) WithFloat(name string, value float64) Result {
	room := r.spare()
	if int(room.numsUsed) == len(room.nums) {
		return r.With(name, value)
	}
	p := &room.nums[room.numsUsed]
	room.numsUsed++
	*p = value
	return r.With(name, roomNum{p})
}

// Lookup returns the field name, set with Field, With or in Fields (whose
// value wins, as when the result is sent).
func (r Result) Lookup(name string) (any, bool) {
	if v, ok := r.Fields[name]; ok {
		return v, true
	}
	for _, f := range r.more {
		if f.name == name {
			if n, ok := f.value.(roomNum); ok {
				return *n.p, true
			}
			return f.value, true
		}
	}
	return nil, false
}

// The result format's keys, encoded once.
var (
	keyClass     = zjson.NewKey("class")
	keyEvents    = zjson.NewKey("events")
	keyFields    = zjson.NewKey("fields")
	keyKey       = zjson.NewKey("key")
	keyLatencyMs = zjson.NewKey("latency_ms")
	keyMessage   = zjson.NewKey("message")
	keyMetrics   = zjson.NewKey("metrics")
	keyName      = zjson.NewKey("name")
	keyState     = zjson.NewKey("state")
	keyStatus    = zjson.NewKey("status")
	keyTitle     = zjson.NewKey("title")
	keyUnit      = zjson.NewKey("unit")
	keyValue     = zjson.NewKey("value")
)

// writeFields writes the "fields" member, if there are any.
func (r *Result) writeFields(w *zjson.Writer) {
	switch {
	case len(r.more) == 0:
		if len(r.Fields) > 0 {
			w.PutKey(keyFields)
			w.Any(r.Fields)
		}
	case len(r.Fields) == 0:
		w.PutKey(keyFields)
		w.ObjectStart()
		for _, f := range r.more {
			w.Key(f.name)
			w.Any(f.value)
		}
		w.ObjectEnd()
	default: // both: merged, the map's values winning
		all := make(map[string]any, len(r.more)+len(r.Fields))
		for _, f := range r.more {
			all[f.name] = f.value
		}
		for k, v := range r.Fields {
			all[k] = v
		}
		w.PutKey(keyFields)
		w.Any(all)
	}
}

// Event appends a notification to send now and returns the result for
// chaining; key names what changed ("if:3") and may be empty.
func (r Result) Event(title, message, key string) Result {
	r.Events = append(r.Events, Event{Title: title, Message: message, Key: key})
	return r
}

// MarshalZJSON encodes the result in the ABI's result format.
func (r Result) MarshalZJSON(w *zjson.Writer) {
	w.Grow(256 + len(r.Message))
	w.ObjectStart()
	w.PutKey(keyStatus)
	w.String(string(r.Status))
	if r.Class != "" {
		w.PutKey(keyClass)
		w.String(string(r.Class))
	}
	w.PutKey(keyMessage)
	w.String(r.Message)
	if r.LatencyMS != 0 {
		w.PutKey(keyLatencyMs)
		w.Float(r.LatencyMS)
	}
	if len(r.Metrics) > 0 {
		w.PutKey(keyMetrics)
		w.ArrayStart()
		for _, m := range r.Metrics {
			w.ObjectStart()
			w.PutKey(keyName)
			w.String(m.Name)
			w.PutKey(keyValue)
			w.Float(m.Value)
			if m.Unit != "" {
				w.PutKey(keyUnit)
				w.String(m.Unit)
			}
			w.ObjectEnd()
		}
		w.ArrayEnd()
	}
	r.writeFields(w)
	r.writeRest(w)
	w.ObjectEnd()
}

// writeRest writes the result's state and events, which a result frame
// carries as JSON too.
func (r *Result) writeRest(w *zjson.Writer) {
	if r.State != nil {
		w.PutKey(keyState)
		w.Any(r.State)
	}
	if len(r.Events) > 0 {
		w.PutKey(keyEvents)
		w.ArrayStart()
		for _, e := range r.Events {
			w.ObjectStart()
			w.PutKey(keyTitle)
			w.String(e.Title)
			w.PutKey(keyMessage)
			w.String(e.Message)
			if e.Key != "" {
				w.PutKey(keyKey)
				w.String(e.Key)
			}
			w.ObjectEnd()
		}
		w.ArrayEnd()
	}
}

// Error is the error every primitive returns; Code is one of the ABI's error
// codes (timeout, refused, unreachable, dns, reset, eof, tls, cert_expired,
// cert_hostname, cert_untrusted, pin_mismatch, protocol, denied, limit,
// canceled, permission, invalid, io).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// CodeOf returns the ABI error code of err, or "" if it is not an *Error.
func CodeOf(err error) string {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e.Code
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}

// errorFrom extracts {"error":{"code","message"}} from an op result.
func errorFrom(v zjson.Value) error {
	e := v.Get("error")
	if !e.Exists() || e.IsNull() {
		return nil
	}
	return &Error{Code: e.Get("code").Str(), Message: e.Get("message").Str()}
}

// Handler runs one check.
type Handler func(c *Check) Result

// Type describes a check type a module provides.
type Type struct {
	Name        string
	Description string
	// Schema is a JSON Schema (as JSON text) for the type's monitor fields;
	// the host uses it for validation and editor completion.
	Schema string
	// Capabilities the type needs: "tcp", "udp", "http", "http3", "tls",
	// "icmp", "snmp". The host refuses other primitives.
	Capabilities []string
}

// ThenHandler runs one check written with callbacks (the ...Then forms of
// the primitives): it starts the check's first operation and returns; the
// check ends when it calls done, exactly once. Such a check needs no
// goroutine while it waits, so thousands in flight cost a few hundred bytes
// each instead of a goroutine stack each. Inside a ThenHandler and its
// callbacks only the ...Then forms may wait: in the multiplexed mode a
// blocking call (Read, DialTCP, ...) fails with code invalid (in blocking
// mode, under TinyGo, it works; write for the stricter rule). A callback
// may run before the ...Then call that registered it returns (a refusal, a
// canceled check), so a callback that retries should not do so without
// bound.
type ThenHandler func(c *Check, done func(Result))

type registered struct {
	typ     Type
	handler Handler
	then    ThenHandler
}

var (
	moduleName    = "unnamed"
	moduleVersion = "0.0.0"
	types         []registered
)

// Module names the module in its manifest. Call it from init.
func Module(name, version string) {
	moduleName, moduleVersion = name, version
}

// Register adds a check type. Call it from init; registering the same name
// twice replaces the handler.
func Register(t Type, h Handler) { register(registered{typ: t, handler: h}) }

// RegisterThen adds a check type written with callbacks (see ThenHandler).
func RegisterThen(t Type, h ThenHandler) {
	register(registered{typ: t, handler: blockingOf(h), then: h})
}

func register(r registered) {
	for i := range types {
		if types[i].typ.Name == r.typ.Name {
			types[i] = r
			return
		}
	}
	types = append(types, r)
}

func lookupType(name string) *registered {
	for i := range types {
		if types[i].typ.Name == name {
			return &types[i]
		}
	}
	if len(types) == 1 {
		return &types[0]
	}
	return nil
}

func handlerFor(name string) Handler {
	if r := lookupType(name); r != nil {
		return r.handler
	}
	return nil
}

// blockingOf runs a ThenHandler where every operation completes before its
// call returns (blocking mode, native builds): its callbacks, and done, have
// all run by the time h returns.
func blockingOf(h ThenHandler) Handler {
	return func(c *Check) (res Result) {
		called := false
		defer func() {
			// As in the multiplexed runtime, the first done wins over a
			// later panic.
			if r := recover(); r != nil && !called {
				panic(r)
			}
		}()
		h(c, func(r Result) {
			if !called {
				res, called = r, true
			}
		})
		if !called {
			return ErrorMsg("check returned without calling done")
		}
		return res
	}
}

func manifestJSON(mode string) []byte {
	var w zjson.Writer
	w.ObjectStart()
	w.Key("abi")
	w.Int(ABIVersion)
	w.Key("name")
	w.String(moduleName)
	w.Key("version")
	w.String(moduleVersion)
	w.Key("mode")
	w.String(mode)
	w.Key("sdk")
	w.String("go")
	w.Key("frames")
	w.Int(frameVersion)
	w.Key("types")
	w.ArrayStart()
	for _, r := range types {
		w.ObjectStart()
		w.Key("name")
		w.String(r.typ.Name)
		if r.typ.Description != "" {
			w.Key("description")
			w.String(r.typ.Description)
		}
		if strings.TrimSpace(r.typ.Schema) != "" {
			w.Key("schema")
			w.Raw([]byte(r.typ.Schema))
		}
		w.Key("capabilities")
		w.Any(append([]string{}, r.typ.Capabilities...))
		w.ObjectEnd()
	}
	w.ArrayEnd()
	w.ObjectEnd()
	return w.Bytes()
}

// Check is one run of a check: the monitor's configuration, its target and
// deadline, and the state the previous run kept.
type Check struct {
	ID       int64
	Name     string // monitor name
	Type     string // check type
	Target   string // the monitor's address, e.g. "tcp://mail:25"
	Timeout  time.Duration
	Deadline time.Time
	Attempt  int
	// Config holds every field of the monitor as written in YAML.
	Config zjson.Value
	// State is what the previous run returned as Result.State (Null the first time).
	State zjson.Value
	// NotifyEvery and AfterEveryN are the monitor's effective notification
	// pacing (notify_every_n_secs and after_every_n_notifications after the
	// site's defaults), from the input's "notify" object; zero when the
	// host did not send them (zappy check). A module that reports Events
	// paces them with PacingDelay, as the daemon paces outage reminders.
	NotifyEvery time.Duration
	AfterEveryN int

	canceled bool
	//lint:ignore U1000 only the multiplexed runtime (abi_mux.go) keeps anything here
	rt checkRuntime // what the ABI mode keeps per check
}

// Canceled reports whether the host has given up on this check (deadline
// passed or host shutting down). Long loops in check code should test it.
func (c *Check) Canceled() bool { return c.canceled }

// Remaining is the time left before the deadline.
func (c *Check) Remaining() time.Duration { return time.Until(c.Deadline) }

// checkBox is a check with room for its name, type and target, which most
// checks' fit: one allocation where a check took two (in wasm each costs a
// few hundred nanoseconds).
type checkBox struct {
	Check
	text [48]byte
}

// checkFrom builds a check from its parsed input, which may live in
// storage that is reused once it returns (readInput's Doc and buffer): the
// check's strings are copied, in one allocation, and Config and State
// cloned.
func checkFrom(v zjson.Value) *Check {
	box := &checkBox{}
	c := &box.Check
	var deadline int64
	var name, typ, target string
	for it := v.Iter(); it.Next(); {
		switch val := it.Value(); it.Key() {
		case "check_id":
			c.ID = val.Int()
		case "name":
			name = val.Str()
		case "type":
			typ = val.Str()
		case "target":
			target = val.Str()
		case "timeout_ms":
			c.Timeout = time.Duration(val.Int()) * time.Millisecond
		case "deadline_unix_ms":
			deadline = val.Int()
		case "attempt":
			c.Attempt = int(val.Int())
		case "config":
			c.Config = val.Clone()
		case "state":
			c.State = val.Clone()
		case "notify":
			c.NotifyEvery = time.Duration(val.Get("every_ms").Int()) * time.Millisecond
			c.AfterEveryN = int(val.Get("after_every_n").Int())
		}
	}
	// Not name + typ + target: a concatenation with one non-empty operand
	// is that operand, not a copy.
	b := box.text[:0]
	if n := len(name) + len(typ) + len(target); n > len(box.text) {
		b = make([]byte, 0, n)
	}
	b = append(append(append(b, name...), typ...), target...)
	all := unsafe.String(unsafe.SliceData(b), len(b))
	c.Name, c.Type, c.Target = all[:len(name)], all[len(name):len(name)+len(typ)], all[len(name)+len(typ):]
	if deadline > 0 {
		c.Deadline = time.UnixMilli(deadline)
	} else {
		c.Deadline = time.Now().Add(c.Timeout)
	}
	return c
}

// PacingDelay is APMonitor's reminder curve, the same as the daemon's
// (runtime/pacing.Delay): how long after the k-th notification (k ≥ 1) the
// next may follow. With t = k/n it is every·t·(2−t) while t < 1, then every;
// with n ≤ 1 it is always every. k ≤ 0 gives 0: the first notification is
// immediate.
func PacingDelay(every time.Duration, n, k int) time.Duration {
	if k <= 0 {
		return 0
	}
	if n <= 1 || k >= n {
		return every
	}
	t := float64(k) / float64(n)
	return time.Duration(float64(every) * t * (2 - t))
}

// runHandler runs h, turning a panic into an error result.
func runHandler(h Handler, c *Check) (res Result) {
	defer func() {
		if r := recover(); r != nil {
			res = Result{Status: StatusError, Class: ClassExceptionError, Message: "check panicked: " + panicText(r)}
		}
	}()
	if h == nil {
		return ErrorMsg("module has no check type " + c.Type)
	}
	return h(c)
}

func panicText(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return "non-error panic value"
}
