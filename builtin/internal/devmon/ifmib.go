package devmon

import (
	"sort"
	"strconv"
)

// IF-MIB columns. IfColumns are ifTable's (every agent has them), IfXColumns
// ifXTable's (SNMPv2c and later: Counter64). A poll walks IfCoreColumns
// and, on SNMPv2c/v3, IfHCColumns; the 32-bit counters (If32Columns) only
// when some interface has no 64-bit ones, since they say the same thing.
var (
	IfColumns = []string{IfDescr, IfSpeed, IfAdminStatus, IfOperStatus, IfInOctets, IfInUcastPkts, IfInNUcastPkts,
		IfInErrors, IfOutOctets, IfOutUcastPkts, IfOutNUcastPkts, IfOutErrors}
	IfXColumns = []string{IfName, IfInMulticastPkts, IfInBroadcastPkts, IfOutMulticastPkts, IfOutBroadcastPkts,
		IfHCInOctets, IfHCInUcastPkts, IfHCInMulticastPkts, IfHCInBroadcastPkts,
		IfHCOutOctets, IfHCOutUcastPkts, IfHCOutMulticastPkts, IfHCOutBroadcastPkts, IfHighSpeed}

	IfCoreColumns = []string{IfDescr, IfSpeed, IfAdminStatus, IfOperStatus, IfInErrors, IfOutErrors}
	IfHCColumns   = []string{IfName, IfHCInOctets, IfHCOutOctets, IfHCInUcastPkts, IfHCOutUcastPkts,
		IfHCInMulticastPkts, IfHCOutMulticastPkts, IfHCInBroadcastPkts, IfHCOutBroadcastPkts, IfHighSpeed}
	If32Columns = []string{IfInOctets, IfOutOctets, IfInUcastPkts, IfOutUcastPkts, IfInNUcastPkts, IfOutNUcastPkts,
		IfInMulticastPkts, IfOutMulticastPkts, IfInBroadcastPkts, IfOutBroadcastPkts}
)

// NeedsIf32 reports whether some interface of a walk of IfCoreColumns and
// IfHCColumns lacks 64-bit octet or packet counters (some agents have the
// former only), so that the 32-bit ones must be walked too.
func NeedsIf32(t Table) bool {
	for _, idx := range t.Rows(IfDescr) {
		for _, col := range []string{IfHCInOctets, IfHCOutOctets, IfHCInUcastPkts, IfHCOutUcastPkts} {
			if _, ok := t.Get(col, idx); !ok {
				return true
			}
		}
	}
	return false
}

// The counters kept per interface, as indexes of IfCounters.
const (
	InOctets = iota
	OutOctets
	InUcast
	OutUcast
	InMcast
	OutMcast
	InBcast
	OutBcast
	InNUcast // multicast + broadcast, SNMPv1's single counter
	OutNUcast
	InErrors
	OutErrors
	NumIfCounters
)

// IfCounters are an interface's counters (absent ones have Bits 0). An
// array rather than a map: a switch has many interfaces and the module
// reads and writes them all on every poll.
type IfCounters [NumIfCounters]Counter

// Interface is one row of IF-MIB.
type Interface struct {
	Index    int
	Descr    string // ifDescr; the name in messages (APMonitor's choice)
	Name     string // ifName, when the agent has it
	Oper     int    // ifOperStatus: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6 notPresent, 7 lowerLayerDown
	Admin    int    // ifAdminStatus: 1 up, 2 down, 3 testing
	SpeedBPS float64
	Counters IfCounters
}

// Label is how messages name the interface: ifDescr, else ifName, else
// its index.
func (i Interface) Label() string {
	switch {
	case i.Descr != "":
		return i.Descr
	case i.Name != "":
		return i.Name
	}
	return "ifIndex " + strconv.Itoa(i.Index)
}

// OperName spells an ifOperStatus value.
func OperName(v int) string {
	names := []string{1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
	if v >= 1 && v < len(names) {
		return names[v]
	}
	return strconv.Itoa(v)
}

// AdminName spells an ifAdminStatus value.
func AdminName(v int) string {
	names := []string{1: "up", 2: "down", 3: "testing"}
	if v >= 1 && v < len(names) {
		return names[v]
	}
	return strconv.Itoa(v)
}

// ParseInterfaces reads the interfaces of walked IF-MIB columns, ordered by
// ifIndex. 64-bit (HC) counters are used where the agent has them, the
// 32-bit ones otherwise.
func ParseInterfaces(t Table) []Interface {
	rows := map[string]bool{}
	for _, col := range []string{IfDescr, IfOperStatus, IfAdminStatus, IfName} {
		for idx := range t[col] {
			rows[idx] = true
		}
	}
	var out []Interface
	for idx := range rows {
		n, err := strconv.Atoi(idx)
		if err != nil {
			continue // not an ifIndex
		}
		out = append(out, readInterface(t, idx, n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

// readInterface reads row idx (ifIndex n) of t.
func readInterface(t Table, idx string, n int) Interface {
	str := func(col string) string { v, _ := t.Get(col, idx); return v.Str }
	num := func(col string) float64 { v, _ := t.Get(col, idx); f, _ := v.Number(); return f }
	ctr := func(cols ...string) Counter {
		for _, col := range cols {
			if v, ok := t.Get(col, idx); ok {
				if c := v.Counter(); c.OK() {
					return c
				}
			}
		}
		return Counter{}
	}
	i := Interface{Index: n, Descr: str(IfDescr), Name: str(IfName), Oper: int(num(IfOperStatus)), Admin: int(num(IfAdminStatus))}
	if hs := num(IfHighSpeed); hs > 0 {
		i.SpeedBPS = hs * 1e6
	} else if s := num(IfSpeed); s > 0 && s < 4294967295 {
		i.SpeedBPS = s
	}
	add := func(k int, c Counter) { i.Counters[k] = c }
	add(InOctets, ctr(IfHCInOctets, IfInOctets))
	add(OutOctets, ctr(IfHCOutOctets, IfOutOctets))
	add(InUcast, ctr(IfHCInUcastPkts, IfInUcastPkts))
	add(OutUcast, ctr(IfHCOutUcastPkts, IfOutUcastPkts))
	add(InMcast, ctr(IfHCInMulticastPkts, IfInMulticastPkts))
	add(OutMcast, ctr(IfHCOutMulticastPkts, IfOutMulticastPkts))
	add(InBcast, ctr(IfHCInBroadcastPkts, IfInBroadcastPkts))
	add(OutBcast, ctr(IfHCOutBroadcastPkts, IfOutBroadcastPkts))
	if !i.Counters[InMcast].OK() {
		add(InNUcast, ctr(IfInNUcastPkts))
	}
	if !i.Counters[OutMcast].OK() {
		add(OutNUcast, ctr(IfOutNUcastPkts))
	}
	add(InErrors, ctr(IfInErrors))
	add(OutErrors, ctr(IfOutErrors))
	return i
}

// Rates are an interface's per-second rates between two polls; a field is
// valid only when its Has bit is set (the RRD's "unknown" otherwise).
type Rates struct {
	InBytes, OutBytes   float64 // octets per second
	InPkts, OutPkts     float64 // packets per second, unicast + multicast + broadcast
	Ucast, BMcast       float64 // in + out, unicast and broadcast+multicast
	InErrors, OutErrors float64
	Has                 map[string]bool // keys: in_bytes, out_bytes, in_pkts, out_pkts, ucast, bmcast, in_errors, out_errors
}

// InterfaceRates computes the rates of one interface from its counters at
// the previous and this poll, dt seconds apart. A 32-bit counter that went
// down counts as wrapped only if the rate that gives fits the interface's
// speed (when known; else it is a reset): at most speed/8 bytes per second,
// and speed/672 packets per second (a minimum Ethernet frame with preamble
// and gap is 84 bytes on the wire); a 10 % margin absorbs sampling jitter.
func InterfaceRates(prev, cur IfCounters, dt, speedBPS float64) Rates {
	r := Rates{Has: map[string]bool{}}
	maxBytes, maxPkts := 0.0, 0.0
	if speedBPS > 0 {
		maxBytes, maxPkts = speedBPS/8*1.1, speedBPS/672*1.1
	}
	rate := func(k int, max float64) (float64, bool) { return Rate(prev[k], cur[k], dt, max) }
	if v, ok := rate(InOctets, maxBytes); ok {
		r.InBytes, r.Has["in_bytes"] = v, true
	}
	if v, ok := rate(OutOctets, maxBytes); ok {
		r.OutBytes, r.Has["out_bytes"] = v, true
	}
	if v, ok := rate(InErrors, maxPkts); ok {
		r.InErrors, r.Has["in_errors"] = v, true
	}
	if v, ok := rate(OutErrors, maxPkts); ok {
		r.OutErrors, r.Has["out_errors"] = v, true
	}
	// Broadcast + multicast: the split counters, or SNMPv1's one.
	bm := func(mcast, bcast, nucast int) (float64, bool) {
		if cur[mcast].OK() {
			m, ok1 := rate(mcast, maxPkts)
			b, ok2 := rate(bcast, maxPkts)
			if !cur[bcast].OK() {
				b, ok2 = 0, true
			}
			return m + b, ok1 && ok2
		}
		return rate(nucast, maxPkts)
	}
	inU, okInU := rate(InUcast, maxPkts)
	outU, okOutU := rate(OutUcast, maxPkts)
	inBM, okInBM := bm(InMcast, InBcast, InNUcast)
	outBM, okOutBM := bm(OutMcast, OutBcast, OutNUcast)
	if okInU && okInBM {
		r.InPkts, r.Has["in_pkts"] = inU+inBM, true
	}
	if okOutU && okOutBM {
		r.OutPkts, r.Has["out_pkts"] = outU+outBM, true
	}
	if okInU && okOutU {
		r.Ucast, r.Has["ucast"] = inU+outU, true
	}
	if okInBM && okOutBM {
		r.BMcast, r.Has["bmcast"] = inBM+outBM, true
	}
	return r
}
