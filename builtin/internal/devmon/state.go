package devmon

import (
	"maps"
	"slices"
	"strconv"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// MaxTrackedMACs is how many learned MACs of one interface the ports
// monitor remembers and reports changes of. A port with more is an uplink
// or trunk where MACs come and go all day: only its count is kept, and it
// sends no MAC change notices.
const MaxTrackedMACs = 256

// IfState is what the monitors remember of an interface between polls.
type IfState struct {
	Name     string   // the label in messages
	Oper     int      // ifOperStatus
	Admin    int      // ifAdminStatus
	MACs     []string // learned MACs, sorted; nil when more than MaxTrackedMACs
	MACCount int
	Counters IfCounters
}

// State is a monitor's module state (kept by the host between polls): the
// baseline the next poll compares with.
type State struct {
	AtMS   int64  // when the poll was answered, Unix ms
	Uptime uint64 // the device's uptime then (TimeTicks): sysUpTime, or hrSystemUptime for host
	// AgentUptime is the agent's sysUpTime, when Uptime is the host's.
	AgentUptime uint64
	Vendor      Vendor
	Counters    map[string]Counter // device-wide counters (tcp_retrans, context switches, disk bytes, ...)
	// Ifs is the ports monitor's baseline per ifIndex (APMonitor's
	// ports_state); Port is the port monitor's one interface (port_state).
	Ifs     map[int]*IfState
	Port    *IfState
	Notices map[string]*Notice
	// DiskSpacePct is the host monitor's last root filesystem use
	// (APMonitor persists it for display); negative when unknown.
	DiskSpacePct float64
}

// MarshalZJSON writes s as the module's state JSON.
func (s *State) MarshalZJSON(w *zjson.Writer) {
	w.ObjectStart()
	w.Key("v")
	w.Int(stateVersion)
	w.Key("at_ms")
	w.Int(s.AtMS)
	w.Key("uptime")
	w.Uint(s.Uptime)
	if s.AgentUptime > 0 {
		w.Key("agent_uptime")
		w.Uint(s.AgentUptime)
	}
	if s.Vendor != "" {
		w.Key("vendor")
		w.String(string(s.Vendor))
	}
	if len(s.Counters) > 0 {
		w.Key("counters")
		writeCounters(w, s.Counters)
	}
	if s.Ifs != nil {
		w.Key("ports_state")
		w.ObjectStart()
		for _, i := range slices.Sorted(maps.Keys(s.Ifs)) {
			w.Key(strconv.Itoa(i))
			writeIf(w, s.Ifs[i])
		}
		w.ObjectEnd()
	}
	if s.Port != nil {
		w.Key("port_state")
		writeIf(w, s.Port)
	}
	if len(s.Notices) > 0 {
		w.Key("notices")
		w.ObjectStart()
		for _, k := range slices.Sorted(maps.Keys(s.Notices)) {
			n := s.Notices[k]
			w.Key(k)
			w.ObjectStart()
			w.Key("at_ms")
			w.Int(n.AtMS)
			w.Key("changed_ms")
			w.Int(n.ChangedMS)
			w.Key("k")
			w.Int(int64(n.K))
			w.Key("held")
			w.Int(int64(n.Held))
			w.Key("seen")
			w.String(n.Seen)
			w.Key("label")
			w.String(n.Label)
			w.ObjectEnd()
		}
		w.ObjectEnd()
	}
	if s.DiskSpacePct >= 0 {
		w.Key("disk_space_pct")
		w.Float(s.DiskSpacePct)
	}
	w.ObjectEnd()
}

func writeIf(w *zjson.Writer, f *IfState) {
	w.ObjectStart()
	w.Key("name")
	w.String(f.Name)
	w.Key("oper")
	w.Int(int64(f.Oper))
	w.Key("admin")
	w.Int(int64(f.Admin))
	if f.MACs != nil {
		w.Key("macs")
		w.ArrayStart()
		for _, m := range f.MACs {
			w.String(m)
		}
		w.ArrayEnd()
	}
	w.Key("mac_count")
	w.Int(int64(f.MACCount))
	w.Key("counters") // [value, bits] per IfCounters index
	w.ArrayStart()
	for _, c := range f.Counters {
		w.ArrayStart()
		w.Uint(c.V)
		w.Int(int64(c.Bits))
		w.ArrayEnd()
	}
	w.ArrayEnd()
	w.ObjectEnd()
}

// writeCounters writes counters as name: [value, bits], values exact.
func writeCounters(w *zjson.Writer, cs map[string]Counter) {
	w.ObjectStart()
	for _, n := range slices.Sorted(maps.Keys(cs)) {
		c := cs[n]
		w.Key(n)
		w.ArrayStart()
		w.Uint(c.V)
		w.Int(int64(c.Bits))
		w.ArrayEnd()
	}
	w.ObjectEnd()
}

// stateVersion changes whenever the state's layout does.
const stateVersion = 2

// ParseState reads a state written by MarshalZJSON; nil for anything else
// (no state yet, or one from another version: the poll starts a new
// baseline).
func ParseState(v zjson.Value) *State {
	if v.Kind() != zjson.Object || v.Get("v").Int() != stateVersion {
		return nil
	}
	s := &State{
		AtMS:         v.Get("at_ms").Int(),
		Uptime:       v.Get("uptime").Uint(),
		AgentUptime:  v.Get("agent_uptime").Uint(),
		Vendor:       Vendor(v.Get("vendor").Str()),
		Counters:     readCounters(v.Get("counters")),
		DiskSpacePct: -1,
	}
	if d := v.Get("disk_space_pct"); d.Exists() {
		s.DiskSpacePct = d.Float()
	}
	if ps := v.Get("ports_state"); ps.Kind() == zjson.Object {
		s.Ifs = map[int]*IfState{}
		ps.Each(func(key string, val zjson.Value) bool {
			if i, err := strconv.Atoi(key); err == nil {
				s.Ifs[i] = readIf(val)
			}
			return true
		})
	}
	if p := v.Get("port_state"); p.Kind() == zjson.Object {
		s.Port = readIf(p)
	}
	if ns := v.Get("notices"); ns.Kind() == zjson.Object {
		s.Notices = map[string]*Notice{}
		ns.Each(func(key string, val zjson.Value) bool {
			s.Notices[key] = &Notice{AtMS: val.Get("at_ms").Int(), ChangedMS: val.Get("changed_ms").Int(),
				K: int(val.Get("k").Int()), Held: int(val.Get("held").Int()), Seen: val.Get("seen").Str(), Label: val.Get("label").Str()}
			return true
		})
	}
	return s
}

func readIf(v zjson.Value) *IfState {
	f := &IfState{Name: v.Get("name").Str(), Oper: int(v.Get("oper").Int()), Admin: int(v.Get("admin").Int()),
		MACCount: int(v.Get("mac_count").Int())}
	for k, c := range v.Get("counters").Array() {
		if k >= NumIfCounters {
			break
		}
		if bits := int(c.Index(1).Int()); bits == 32 || bits == 64 {
			f.Counters[k] = Counter{V: c.Index(0).Uint(), Bits: bits}
		}
	}
	if m := v.Get("macs"); m.Kind() == zjson.Array {
		f.MACs = m.Strings()
		if f.MACs == nil {
			f.MACs = []string{}
		}
	}
	return f
}

func readCounters(v zjson.Value) map[string]Counter {
	out := map[string]Counter{}
	v.Each(func(key string, val zjson.Value) bool {
		if val.Len() == 2 {
			if bits := int(val.Index(1).Int()); bits == 32 || bits == 64 {
				out[key] = Counter{V: val.Index(0).Uint(), Bits: bits}
			}
		}
		return true
	})
	return out
}
