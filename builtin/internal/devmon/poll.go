package devmon

import (
	"strconv"
	"strings"
)

// Metric is one measurement of a poll, recorded in the monitor's history
// under the name of APMonitor's RRD data source.
type Metric struct {
	Name  string
	Value float64
	Unit  string // B/s, bit/s, /s, %, B or "" for counts
}

// Event is a change notice (PORT CHANGE, PORT MAC CHANGE).
type Event struct{ Title, Message, Key string }

// Poll is the outcome of one poll of a device.
type Poll struct {
	Down    bool // the port monitor's alarm table says alarm
	Message string
	Metrics []Metric
	Events  []Event
	Fields  map[string]any
	State   *State
}

func (p *Poll) metric(name string, v float64, unit string) {
	p.Metrics = append(p.Metrics, Metric{Name: name, Value: v, Unit: unit})
}

// rateBase is what two polls have in common: the interval between them,
// and whether counters may be compared (a previous poll, no reboot).
type rateBase struct {
	dt       float64
	ok       bool
	rebooted bool
}

func newRateBase(prev *State, nowMS int64, uptime uint64) rateBase {
	if prev == nil {
		return rateBase{}
	}
	dt := float64(nowMS-prev.AtMS) / 1000
	if Rebooted(prev.Uptime, uptime, dt) {
		return rateBase{dt: dt, rebooted: true}
	}
	return rateBase{dt: dt, ok: dt > 0}
}

// sums adds up interface rates for the aggregate data sources. A total is
// given only when every interface seen at both polls has its rate: a sum
// missing an interface (its counters were reset) would show a false dip.
type sums struct {
	inBytes, outBytes, inPkts, outPkts, ucast, bmcast, inErr, outErr float64
	pairs                                                            int            // interfaces at both polls
	has                                                              map[string]int // interfaces with each rate
}

func (s *sums) add(r Rates) {
	if s.has == nil {
		s.has = map[string]int{}
	}
	s.pairs++
	for k := range r.Has {
		s.has[k]++
	}
	s.inBytes += r.InBytes
	s.outBytes += r.OutBytes
	s.inPkts += r.InPkts
	s.outPkts += r.OutPkts
	s.ucast += r.Ucast
	s.bmcast += r.BMcast
	s.inErr += r.InErrors
	s.outErr += r.OutErrors
}

// record writes the aggregate network data sources (APMonitor's RRD names).
func (s *sums) record(p *Poll) {
	for _, m := range []struct {
		has, name string
		v         float64
		unit      string
	}{
		{"in_bytes", "total_bits_in", s.inBytes * 8, "bit/s"},
		{"out_bytes", "total_bits_out", s.outBytes * 8, "bit/s"},
		{"in_pkts", "total_pkts_in", s.inPkts, "/s"},
		{"out_pkts", "total_pkts_out", s.outPkts, "/s"},
		{"in_errors", "total_errors_in", s.inErr, "/s"},
		{"out_errors", "total_errors_out", s.outErr, "/s"},
		{"ucast", "total_pkts_ucast", s.ucast, "/s"},
		{"bmcast", "total_pkts_bmcast", s.bmcast, "/s"},
	} {
		if s.complete(m.has) {
			p.metric(m.name, m.v, m.unit)
			p.Fields[m.name] = m.v
		}
	}
}

// complete reports whether every interface at both polls has rate k.
func (s *sums) complete(k string) bool { return s.pairs > 0 && s.has[k] == s.pairs }

// PortsInput is one poll of a ports monitor: the GET answers (sysUpTime,
// sysObjectID, tcpRetransSegs and the vendor scalars) and the walked
// columns (IF-MIB, FDB, ARP, hrStorage, hrProcessorLoad, vendor tables).
type PortsInput struct {
	NowMS   int64
	Scalars map[string]Varbind
	Table   Table
	Pacer   Pacer
	// FDBOK and ARPOK say the forwarding database and the ARP table were
	// read. When not, the MACs are unknown rather than gone: the last
	// known ones are kept, no MAC notice is sent and the counts are left
	// out.
	FDBOK, ARPOK bool
}

// PollPorts turns a ports poll into metrics, change notices and the next
// baseline. The first poll (prev nil) only sets the baseline: there are no
// rates and nothing to compare.
func PollPorts(prev *State, in PortsInput) Poll {
	uptime := in.Scalars[SysUpTime].Num
	vendor := DetectVendor(in.Scalars[SysObjectID].Str)
	ifaces := ParseInterfaces(in.Table)
	fdb := ParseFDB(in.Table)
	storage := ParseStorage(in.Table)
	p := Poll{Fields: map[string]any{}}
	st := &State{AtMS: in.NowMS, Uptime: uptime, Vendor: vendor, Counters: map[string]Counter{}, Ifs: map[int]*IfState{},
		Notices: map[string]*Notice{}, DiskSpacePct: -1}
	p.State = st
	rb := newRateBase(prev, in.NowMS, uptime)

	var total sums
	up := 0
	var list []any
	for _, i := range ifaces {
		macs := fdb.MACs[i.Index]
		f := &IfState{Name: i.Label(), Oper: i.Oper, Admin: i.Admin, MACCount: len(macs), Counters: i.Counters}
		switch old := prevIf(prev, i.Index); {
		case !in.FDBOK && old != nil:
			f.MACs, f.MACCount = old.MACs, old.MACCount
		case !in.FDBOK:
			f.MACCount = 0 // unknown; nil MACs: not tracked until known
		case len(macs) <= MaxTrackedMACs:
			f.MACs = append([]string{}, macs...)
		}
		st.Ifs[i.Index] = f
		if i.Oper == 1 {
			up++
		}
		// The row assertions see (the MACs themselves are in the state).
		row := map[string]any{"index": i.Index, "name": i.Label(), "oper": OperName(i.Oper), "admin": AdminName(i.Admin)}
		if in.FDBOK {
			row["mac_count"] = len(macs)
		}
		if old := prevIf(prev, i.Index); rb.ok && old != nil {
			r := InterfaceRates(old.Counters, i.Counters, rb.dt, i.SpeedBPS)
			total.add(r)
			idx := strconv.Itoa(i.Index)
			if r.Has["in_bytes"] {
				p.metric("if"+idx+"_in", r.InBytes, "B/s")
				row["in_bps"] = r.InBytes * 8
			}
			if r.Has["out_bytes"] {
				p.metric("if"+idx+"_out", r.OutBytes, "B/s")
				row["out_bps"] = r.OutBytes * 8
			}
			if r.Has["in_errors"] {
				row["in_errors_ps"] = r.InErrors
			}
			if r.Has["out_errors"] {
				row["out_errors_ps"] = r.OutErrors
			}
		}
		list = append(list, row)
	}
	if list == nil {
		list = []any{}
	}
	p.Fields["interfaces"] = list
	total.record(&p)

	if c := in.Scalars[TCPRetransSegs].Counter(); c.OK() {
		st.Counters["tcp_retrans"] = c
		if rb.ok {
			if r, ok := Rate(prev.Counters["tcp_retrans"], c, rb.dt, 0); ok {
				p.metric("tcp_retrans", r, "/s")
				p.Fields["tcp_retrans"] = r
			}
		}
	}
	cpu, cpuOK := VendorCPU(vendor, in.Scalars, in.Table)
	if !cpuOK {
		cpu, cpuOK = CPULoad(in.Table)
	}
	mem, memOK := VendorMemory(vendor, in.Scalars, in.Table)
	if !memOK {
		mem, memOK = MemoryPct(storage)
	}
	if cpuOK {
		p.metric("cpu_load", cpu, "%")
		p.Fields["cpu_load"] = cpu
	}
	if memOK {
		p.metric("memory_pct", mem, "%")
		p.Fields["memory_pct"] = mem
	}
	arp := ARPCount(in.Table)
	flash := FlashBytes(storage)
	p.metric("ports_up_count", float64(up), "")
	p.Fields["ports_up_count"] = up
	if len(storage) > 0 {
		p.metric("nvram_flash_bytes", flash, "B")
		p.Fields["nvram_flash_bytes"] = flash
	}
	if in.FDBOK {
		p.metric("mac_count", float64(fdb.Entries), "")
		p.Fields["mac_count"] = fdb.Entries
	}
	if in.ARPOK {
		p.metric("arp_count", float64(arp), "")
		p.Fields["arp_count"] = arp
	}
	p.Fields["vendor"] = string(vendor)
	p.Fields["uptime_s"] = float64(uptime) / 100

	if prev != nil {
		p.Events = portEvents(prev, st, in.Pacer, in.NowMS, in.FDBOK)
	}
	changes := make([]any, len(p.Events))
	for i, e := range p.Events {
		changes[i] = e.Title + ": " + e.Message
	}
	p.Fields["changes"] = changes

	// The message.
	var b strings.Builder
	if prev == nil {
		b.WriteString("baseline: ")
	}
	b.WriteString(strconv.Itoa(len(ifaces)) + " interfaces, " + strconv.Itoa(up) + " up")
	if total.complete("in_bytes") && total.complete("out_bytes") {
		b.WriteString("; in " + Bits(total.inBytes*8) + ", out " + Bits(total.outBytes*8))
	}
	if cpuOK {
		b.WriteString("; cpu " + pct(cpu))
	}
	if memOK {
		b.WriteString(", mem " + pct(mem))
	}
	var tables []string
	if in.FDBOK {
		tables = append(tables, strconv.Itoa(fdb.Entries)+" MACs")
	}
	if in.ARPOK {
		tables = append(tables, strconv.Itoa(arp)+" ARP")
	}
	if len(tables) > 0 {
		b.WriteString("; " + strings.Join(tables, ", "))
	}
	switch {
	case prev == nil:
		b.WriteString("; rates from the next poll")
	case rb.rebooted:
		b.WriteString("; the agent restarted (sysUpTime went back): rates from the next poll")
	}
	if n := len(p.Events); n > 0 {
		b.WriteString("; " + strconv.Itoa(n) + " change notice")
		if n > 1 {
			b.WriteString("s")
		}
	}
	p.Message = b.String()
	return p
}

func prevIf(prev *State, idx int) *IfState {
	if prev == nil {
		return nil
	}
	return prev.Ifs[idx]
}

// portEvents compares two baselines interface by interface and returns the
// notices due, updating cur's notice pacing. fdbOK false means the MACs of
// this poll are unknown: MAC notices wait (their pacing is carried on).
func portEvents(prev, cur *State, pacer Pacer, nowMS int64, fdbOK bool) []Event {
	indexes := map[int]bool{}
	for i := range prev.Ifs {
		indexes[i] = true
	}
	for i := range cur.Ifs {
		indexes[i] = true
	}
	for key := range prev.Notices {
		if i, ok := noticeIndex(key); ok {
			indexes[i] = true
		}
	}
	order := make([]int, 0, len(indexes))
	for i := range indexes {
		order = append(order, i)
	}
	sortInts(order)
	var events []Event
	for _, i := range order {
		old, now := prev.Ifs[i], cur.Ifs[i]
		label := ""
		oldStatus, nowStatus := Absent, Absent
		if old != nil {
			oldStatus, label = IfStatus(old.Oper, old.Admin), old.Name
		}
		if now != nil {
			nowStatus, label = IfStatus(now.Oper, now.Admin), now.Name
		}
		key := "if:" + strconv.Itoa(i)
		if e, ok := step(prev, cur, key, label, oldStatus, nowStatus, pacer, nowMS); ok {
			events = append(events, Event{Title: "PORT CHANGE", Message: PortChangeText(e.label, e.was, nowStatus, e.changes), Key: key})
		}
		mkey := "mac:" + strconv.Itoa(i)
		switch {
		case fdbOK && old != nil && now != nil && old.MACs != nil && now.MACs != nil:
			if e, ok := step(prev, cur, mkey, label, MACSet(old.MACs), MACSet(now.MACs), pacer, nowMS); ok {
				events = append(events, Event{Title: "PORT MAC CHANGE", Message: MACChangeText(e.label, e.was, MACSet(now.MACs), e.changes), Key: mkey})
			}
		case now != nil && prev.Notices[mkey] != nil:
			// The MACs are unknown this poll, or the port is over the
			// tracking limit: keep what is held for when they are known.
			// (For an interface that is gone, its disappearance is the
			// notice.)
			n := *prev.Notices[mkey]
			cur.Notices[mkey] = &n
		}
	}
	return events
}

type stepResult struct {
	was, label string
	changes    int
}

// step runs key's pacer and keeps its notice in cur while it matters: a
// change is held, or a burst may still be going on. label names the thing
// ("" when it is gone: the notice remembers its name).
func step(prev, cur *State, key, label, old, now string, pacer Pacer, nowMS int64) (stepResult, bool) {
	n, had := prev.Notices[key]
	if !had {
		if old == now {
			return stepResult{}, false
		}
		n = &Notice{Seen: old}
	} else {
		copied := *n
		n = &copied
	}
	if label != "" {
		n.Label = label
	}
	due, was, changes := pacer.Step(n, old, now, nowMS)
	if n.Held > 0 || nowMS-n.ChangedMS < pacer.every().Milliseconds() {
		cur.Notices[key] = n
	}
	return stepResult{was: was, label: n.Label, changes: changes}, due
}

func noticeIndex(key string) (int, bool) {
	_, idx, ok := strings.Cut(key, ":")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(idx)
	return i, err == nil
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// Bits formats a rate in bits per second: "12.3 Mbit/s".
func Bits(bps float64) string {
	return human(bps, 1000, []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"})
}

// Bytes formats a size in bytes: "1.5 GB".
func Bytes(b float64) string { return human(b, 1000, []string{"B", "kB", "MB", "GB", "TB"}) }

func human(v, base float64, units []string) string {
	i := 0
	for v >= base && i < len(units)-1 {
		v /= base
		i++
	}
	if i == 0 || v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " " + units[i]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

func pct(v float64) string {
	if v >= 10 || v == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "%"
}
