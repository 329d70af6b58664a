package devmon

import (
	"strings"
	"testing"
)

// Regressions found in review: each would have given false notices or
// absurd rates.

func TestPollPortsFDBUnknown(t *testing.T) {
	sw := newSwitch()
	p := PollPorts(nil, sw.input(0))
	in := sw.input(10_000)
	in.FDBOK, in.ARPOK = false, false // the optional walk failed: no FDB rows at all
	delete(in.Table, Dot1qTpFdbPort)
	delete(in.Table, Dot1qTpFdbStatus)
	p2 := PollPorts(p.State, in)
	if len(p2.Events) != 0 {
		t.Fatalf("notices from an unreadable FDB: %s", events(p2))
	}
	if m := metricMap(p2); len(m) == 0 || hasKey(m, "mac_count") || hasKey(m, "arp_count") {
		t.Errorf("counts of unknown tables recorded: %v", m)
	}
	if got := p2.State.Ifs[1].MACs; len(got) != 1 || got[0] != "18:E8:29:45:F8:F7" {
		t.Errorf("MACs not kept: %v", got)
	}
	if strings.Contains(p2.Message, "MACs") {
		t.Errorf("message counts unknown MACs: %q", p2.Message)
	}
	// Readable again, unchanged: nothing to report.
	if p3 := PollPorts(p2.State, sw.input(20_000)); len(p3.Events) != 0 {
		t.Errorf("notices after the FDB came back: %s", events(p3))
	}
}

func TestPollPortsHeldMACNoticeSurvivesUnknownFDB(t *testing.T) {
	sw := newSwitch()
	p := PollPorts(nil, sw.input(0))
	sw.fdb[macB] = 1 // a MAC appears: notice at once
	p = PollPorts(p.State, sw.input(10_000))
	delete(sw.fdb, macB) // and goes: held (10 min window)
	p = PollPorts(p.State, sw.input(20_000))
	if len(p.Events) != 0 || p.State.Notices["mac:1"] == nil || p.State.Notices["mac:1"].Held != 1 {
		t.Fatalf("not held: %s %+v", events(p), p.State.Notices)
	}
	in := sw.input(30_000)
	in.FDBOK = false
	p = PollPorts(p.State, in)
	if n := p.State.Notices["mac:1"]; n == nil || n.Held != 1 {
		t.Fatalf("held MAC notice lost while the FDB was unreadable: %+v", p.State.Notices)
	}
	p = PollPorts(p.State, sw.input(620_000))
	if got := events(p); got != "PORT MAC CHANGE: GigabitEthernet0/1 MAC change disappeared=[AA:BB:CC:DD:EE:FF]" {
		t.Errorf("released notice: %q", got)
	}
}

func TestPollPortsFlapToAbsentKeepsLabel(t *testing.T) {
	sw := newSwitch()
	p := PollPorts(nil, sw.input(0))
	gone := sw.ifs[2]
	delete(sw.ifs, 2)
	p = PollPorts(p.State, sw.input(10_000)) // disappeared: notice
	sw.ifs[2] = gone
	p = PollPorts(p.State, sw.input(20_000)) // back: held
	delete(sw.ifs, 2)
	p = PollPorts(p.State, sw.input(30_000)) // gone again: held
	p = PollPorts(p.State, sw.input(620_000))
	want := "PORT CHANGE: GigabitEthernet0/2 absent again (came and went: 2 changes since the last notice)"
	if got := events(p); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestPollPortsTotalsNeedEveryInterface(t *testing.T) {
	sw := newSwitch()
	p := PollPorts(nil, sw.input(0))
	sw.uptime += 1000
	sw.ifs[1].in += 10_000
	sw.ifs[2].in = 1 // port 2's counters were cleared (no reboot): no rate
	p2 := PollPorts(p.State, sw.input(10_000))
	m := metricMap(p2)
	if hasKey(m, "total_bits_in") || !hasKey(m, "if1_in") || hasKey(m, "if2_in") {
		t.Errorf("a total without port 2: %v", m)
	}
	if !hasKey(m, "total_bits_out") {
		t.Errorf("out total missing though every port has it: %v", m)
	}
}

func TestPollPortMissingThenBack(t *testing.T) {
	sc := func(in uint64, present bool) map[string]Varbind {
		m := map[string]Varbind{SysUpTime: {OID: SysUpTime, Type: "TimeTicks", Num: 5000}}
		if present {
			for _, v := range []Varbind{vbStr(IfDescr+".7", "Gi0/7"), vbInt(IfOperStatus+".7", 1), vbInt(IfAdminStatus+".7", 1),
				vbCtr(IfHCInOctets+".7", 64, in), vbCtr(IfHCOutOctets+".7", 64, 0), vbInt(IfHighSpeed+".7", 1000)} {
				m[v.OID] = v
			}
		}
		return m
	}
	in := PortInput{Port: 7, MAC: "18:E8:29:45:F8:F7", FDB: Table{}}
	in.NowMS, in.Scalars = 0, sc(0, true)
	p := PollPort(nil, in)
	in.NowMS, in.Scalars = 3_600_000, sc(0, false) // gone for an hour
	p = PollPort(p.State, in)
	in.NowMS, in.Scalars = 3_660_000, sc(3_660_000_000, true) // 1 MB/s all along
	p = PollPort(p.State, in)
	if got := metricMap(p)["if7_in"]; got != 1_000_000 {
		t.Errorf("if7_in after the port came back = %v B/s, want 1000000", got)
	}
}

func TestPollHostCacheReset(t *testing.T) {
	sc := func(ctx, swapIn, agentUp, hostUp uint64) map[string]Varbind {
		m := map[string]Varbind{}
		for _, v := range []Varbind{{OID: SysUpTime, Type: "TimeTicks", Num: agentUp}, {OID: HrSystemUptime, Type: "TimeTicks", Num: hostUp},
			vbCtr(SsRawContexts, 32, ctx), vbCtr(SsRawSwapIn, 32, swapIn), vbCtr(SsRawSwapOut, 32, 0)} {
			m[v.OID] = v
		}
		return m
	}
	poll := func(prev *State, at int64, s map[string]Varbind) Poll {
		return PollHost(prev, HostInput{NowMS: at, Scalars: s, Table: Table{}})
	}
	p := poll(nil, 0, sc(3_000_000_000, 0, 900_000, 900_000))
	// snmpd restarted (the host did not): its cache reads 0.
	p = poll(p.State, 60_000, sc(0, 0, 10, 906_000))
	if hasKey(metricMap(p), "context_switches") {
		t.Errorf("a rate from the emptied cache: %v", metricMap(p))
	}
	// Loaded again: a new baseline, then rates.
	p = poll(p.State, 120_000, sc(3_000_600_000, 0, 6010, 912_000))
	if hasKey(metricMap(p), "context_switches") {
		t.Errorf("a rate across the cache reset: %v", metricMap(p))
	}
	p = poll(p.State, 130_000, sc(3_000_650_000, 0, 7010, 913_000))
	if got := metricMap(p)["context_switches"]; got != 5000 {
		t.Errorf("context_switches = %v, want 5000", got)
	}
	// Swapping starts on a long-running agent: its first rate counts.
	p = poll(p.State, 140_000, sc(3_000_700_000, 500, 8010, 914_000))
	if got, ok := metricMap(p)["swap_io"]; !ok || got != 50 {
		t.Errorf("swap_io = %v (%v), want 50", got, ok)
	}
}

func TestNeedsIf32(t *testing.T) {
	vbs := []Varbind{vbStr(IfDescr+".1", "e1"), vbCtr(IfHCInOctets+".1", 64, 1), vbCtr(IfHCOutOctets+".1", 64, 1)}
	if !NeedsIf32(Index(vbs, append(IfCoreColumns, IfHCColumns...))) {
		t.Error("64-bit octets without 64-bit packets must walk the 32-bit packet counters")
	}
	vbs = append(vbs, vbCtr(IfHCInUcastPkts+".1", 64, 1), vbCtr(IfHCOutUcastPkts+".1", 64, 1))
	if NeedsIf32(Index(vbs, append(IfCoreColumns, IfHCColumns...))) {
		t.Error("all 64-bit counters present, yet 32-bit ones asked for")
	}
}

func hasKey(m map[string]float64, k string) bool { _, ok := m[k]; return ok }
