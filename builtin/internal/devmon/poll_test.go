package devmon

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeSwitch is a synthetic agent's answers for a ports poll.
type fakeSwitch struct {
	uptime  uint64
	sysOID  string
	retrans uint64
	ifs     map[int]*fakeIf
	fdb     map[string]int // MAC (dotted decimal) → bridge port
}

type fakeIf struct {
	descr       string
	oper, admin int64
	in, out     uint64 // HC octets (64-bit) unless c32
	c32         bool
	ucast       uint64
	speedMbps   int64
}

func (s *fakeSwitch) input(nowMS int64) PortsInput {
	scalars := map[string]Varbind{
		SysUpTime:      {OID: SysUpTime, Type: "TimeTicks", Num: s.uptime},
		SysObjectID:    vbOID(SysObjectID, s.sysOID),
		TCPRetransSegs: vbCtr(TCPRetransSegs, 32, s.retrans),
		HPCPU:          {OID: HPCPU, Type: "NoSuchObject"},
	}
	var vbs []Varbind
	for i, f := range s.ifs {
		idx := fmt.Sprintf(".%d", i)
		vbs = append(vbs, vbStr(IfDescr+idx, f.descr), vbInt(IfOperStatus+idx, f.oper), vbInt(IfAdminStatus+idx, f.admin),
			vbInt(IfHighSpeed+idx, f.speedMbps))
		if f.c32 {
			vbs = append(vbs, vbCtr(IfInOctets+idx, 32, f.in), vbCtr(IfOutOctets+idx, 32, f.out))
		} else {
			vbs = append(vbs, vbCtr(IfHCInOctets+idx, 64, f.in), vbCtr(IfHCOutOctets+idx, 64, f.out),
				vbCtr(IfHCInUcastPkts+idx, 64, f.ucast), vbCtr(IfHCOutUcastPkts+idx, 64, f.ucast),
				vbCtr(IfHCInMulticastPkts+idx, 64, 0), vbCtr(IfHCOutMulticastPkts+idx, 64, 0),
				vbCtr(IfHCInBroadcastPkts+idx, 64, 0), vbCtr(IfHCOutBroadcastPkts+idx, 64, 0))
		}
		vbs = append(vbs, vbCtr(IfInErrors+idx, 32, 0), vbCtr(IfOutErrors+idx, 32, 0))
	}
	for mac, port := range s.fdb {
		vbs = append(vbs, vbInt(Dot1qTpFdbPort+".1."+mac, int64(port)), vbInt(Dot1qTpFdbStatus+".1."+mac, 3))
	}
	vbs = append(vbs, vbInt(HrProcessorLoad+".1", 7))
	cols := append(append(append(append([]string{}, IfColumns...), IfXColumns...), FDBColumns...), HrProcessorLoad)
	return PortsInput{NowMS: nowMS, Scalars: scalars, Table: Index(vbs, cols), Pacer: Pacer{Every: 10 * time.Minute, N: 1}, FDBOK: true, ARPOK: true}
}

const macA, macB = "24.232.41.69.248.247", "170.187.204.221.238.255" // 18:E8:29:45:F8:F7, AA:BB:CC:DD:EE:FF

func newSwitch() *fakeSwitch {
	return &fakeSwitch{uptime: 100_000, sysOID: ".1.3.6.1.4.1.8072.3.2.10", ifs: map[int]*fakeIf{
		1: {descr: "GigabitEthernet0/1", oper: 1, admin: 1, in: 1_000, out: 2_000, ucast: 10, speedMbps: 1000},
		2: {descr: "GigabitEthernet0/2", oper: 1, admin: 1, in: 5_000, out: 5_000, ucast: 10, speedMbps: 1000},
	}, fdb: map[string]int{macA: 1}}
}

func metricMap(p Poll) map[string]float64 {
	m := map[string]float64{}
	for _, x := range p.Metrics {
		m[x.Name] = x.Value
	}
	return m
}

func events(p Poll) string {
	var out []string
	for _, e := range p.Events {
		out = append(out, e.Title+": "+e.Message)
	}
	return strings.Join(out, " | ")
}

func TestPollPorts(t *testing.T) {
	sw := newSwitch()
	t0 := int64(1_795_000_000_000)
	p := PollPorts(nil, sw.input(t0))
	if p.Message != "baseline: 2 interfaces, 2 up; cpu 7.0%; 1 MACs, 0 ARP; rates from the next poll" || len(p.Events) != 0 {
		t.Fatalf("baseline: %q %v", p.Message, p.Events)
	}
	if m := metricMap(p); m["ports_up_count"] != 2 || m["mac_count"] != 1 || m["cpu_load"] != 7 || len(m) != 4 {
		t.Fatalf("baseline metrics: %v", m)
	}

	// 10 s later: traffic, a port goes down, a MAC appears.
	sw.uptime += 1000
	sw.retrans += 50
	sw.ifs[1].in += 1_250_000 // 1 Mbit/s
	sw.ifs[1].out += 125_000
	sw.ifs[1].ucast += 1000
	sw.ifs[2].oper = 2
	sw.fdb[macB] = 1
	p2 := PollPorts(p.State, sw.input(t0+10_000))
	m := metricMap(p2)
	want := map[string]float64{"if1_in": 125_000, "if1_out": 12_500, "if2_in": 0, "if2_out": 0,
		"total_bits_in": 1e6, "total_bits_out": 1e5, "total_pkts_in": 100, "total_pkts_out": 100, "total_pkts_ucast": 200, "total_pkts_bmcast": 0,
		"total_errors_in": 0, "total_errors_out": 0, "tcp_retrans": 5, "cpu_load": 7, "ports_up_count": 1, "mac_count": 2, "arp_count": 0}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("metrics\n got %v\nwant %v", m, want)
	}
	wantEv := "PORT MAC CHANGE: GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF] | PORT CHANGE: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up)"
	if got := events(p2); got != wantEv {
		t.Errorf("events\n got %s\nwant %s", got, wantEv)
	}
	if p2.Events[0].Key != "mac:1" || p2.Events[1].Key != "if:2" {
		t.Errorf("keys: %+v", p2.Events)
	}
	if p2.Message != "2 interfaces, 1 up; in 1.0 Mbit/s, out 100 kbit/s; cpu 7.0%; 2 MACs, 0 ARP; 2 change notices" {
		t.Errorf("message: %q", p2.Message)
	}

	// 10 s later: port 2 comes back (held: 10 min silence window), port 3
	// appears (its first notice is due at once), port 1 disappears.
	sw.uptime += 1000
	sw.ifs[2].oper = 1
	sw.ifs[3] = &fakeIf{descr: "GigabitEthernet0/3", oper: 1, admin: 1, speedMbps: 1000}
	delete(sw.ifs, 1)
	p3 := PollPorts(p2.State, sw.input(t0+20_000))
	if got := events(p3); got != "PORT CHANGE: GigabitEthernet0/1 disappeared (was oper=up admin=up) | PORT CHANGE: GigabitEthernet0/3 appeared oper=up admin=up" {
		t.Errorf("poll 3 events: %s", got)
	}
	// 10 min later port 2's held change goes out, against what was reported.
	sw.uptime += 60_000
	p4 := PollPorts(p3.State, sw.input(t0+620_000))
	if got := events(p4); got != "PORT CHANGE: GigabitEthernet0/2 oper=up admin=up (was oper=down admin=up)" {
		t.Errorf("poll 4 events: %s", got)
	}
	if p5 := PollPorts(p4.State, sw.input(t0+630_000)); len(p5.Events) != 0 {
		t.Errorf("nothing changed, yet: %s", events(p5))
	}

	// The switch reboots: counters restart; no rates, not absurd ones.
	sw.uptime = 500
	sw.ifs[2].in, sw.ifs[2].out = 10, 10
	p6 := PollPorts(p4.State, sw.input(t0+640_000))
	for _, name := range []string{"if2_in", "if3_in", "total_bits_in", "tcp_retrans"} {
		if _, has := metricMap(p6)[name]; has {
			t.Errorf("%s after a reboot: %v", name, metricMap(p6))
		}
	}
	if !strings.Contains(p6.Message, "the agent restarted (sysUpTime went back): rates from the next poll") {
		t.Errorf("reboot message: %q", p6.Message)
	}
}

func TestPollPortsCounterWrapAndUplinks(t *testing.T) {
	sw := &fakeSwitch{uptime: 1000, ifs: map[int]*fakeIf{5: {descr: "Fa0/5", oper: 1, admin: 1, c32: true, in: 1<<32 - 1_000, out: 0, speedMbps: 100}}, fdb: map[string]int{}}
	for i := 0; i < MaxTrackedMACs+1; i++ {
		sw.fdb[fmt.Sprintf("2.0.0.0.%d.%d", i/256, i%256)] = 5
	}
	p := PollPorts(nil, sw.input(0))
	if f := p.State.Ifs[5]; f.MACs != nil || f.MACCount != MaxTrackedMACs+1 {
		t.Fatalf("uplink MACs kept: %d %d", len(f.MACs), f.MACCount)
	}
	sw.uptime += 1000
	sw.ifs[5].in = 9_000 // wrapped: 10,000 bytes in 10 s
	delete(sw.fdb, "2.0.0.0.0.0")
	p2 := PollPorts(p.State, sw.input(10_000))
	if m := metricMap(p2); m["if5_in"] != 1000 {
		t.Errorf("wrap: %v", m)
	}
	if len(p2.Events) != 0 {
		t.Errorf("MAC notices on an uplink: %s", events(p2))
	}
	// A 32-bit counter that was cleared (no reboot): dropped, not 429 MB/s.
	sw.uptime += 1000
	sw.ifs[5].in = 3_000_000_000
	p3 := PollPorts(p2.State, sw.input(20_000))
	sw.uptime += 1000
	sw.ifs[5].in = 5
	p4 := PollPorts(p3.State, sw.input(30_000))
	if _, has := metricMap(p4)["if5_in"]; has {
		t.Errorf("cleared counter gave a rate: %v", metricMap(p4))
	}
}

func TestPollPortAlarmTable(t *testing.T) {
	const pinned, other = "18:E8:29:45:F8:F7", "AA:BB:CC:DD:EE:FF"
	fdb := func(macs ...string) Table {
		var vbs []Varbind
		for _, m := range macs {
			arcs := map[string]string{pinned: macA, other: macB}[m]
			vbs = append(vbs, vbInt(Dot1qTpFdbPort+".1."+arcs, 7), vbInt(Dot1qTpFdbStatus+".1."+arcs, 3))
		}
		return Index(vbs, FDBColumns)
	}
	scalars := func(oper int64) map[string]Varbind {
		m := map[string]Varbind{SysUpTime: {OID: SysUpTime, Type: "TimeTicks", Num: 5000}}
		for _, v := range []Varbind{vbStr(IfDescr+".7", "Gi0/7"), vbInt(IfOperStatus+".7", oper), vbInt(IfAdminStatus+".7", 1),
			vbCtr(IfHCInOctets+".7", 64, 0), vbCtr(IfHCOutOctets+".7", 64, 0)} {
			m[v.OID] = v
		}
		for _, oid := range PortScalars(7) {
			if _, ok := m[oid]; !ok {
				m[oid] = Varbind{OID: oid, Type: "NoSuchInstance"}
			}
		}
		return m
	}
	tests := []struct {
		name     string
		alwaysUp bool
		oper     int64
		macs     []string
		fdbErr   string
		down     bool
		msg      string
	}{
		{"all clear", true, 1, []string{pinned}, "", false, "port ifIndex=7 (Gi0/7) is up with 18:E8:29:45:F8:F7"},
		{"all clear, always_up false", false, 1, []string{pinned}, "", false, "port ifIndex=7 (Gi0/7) is up with 18:E8:29:45:F8:F7"},
		{"port down, always_up", true, 2, nil, "", true, "port ifIndex=7 18:E8:29:45:F8:F7 is down (admin=up)"},
		{"port down, not always_up", false, 2, nil, "", false, "port ifIndex=7 (Gi0/7) is down (admin=up); no alarm (always_up: false)"},
		{"pinned MAC absent, always_up", true, 1, nil, "", true, "port ifIndex=7 pinned MAC 18:E8:29:45:F8:F7 absent"},
		{"pinned MAC absent, not always_up", false, 1, nil, "", false, "port ifIndex=7 (Gi0/7) is up, 18:E8:29:45:F8:F7 not seen; no alarm (always_up: false)"},
		{"wrong MAC, always_up", true, 1, []string{other}, "", true,
			"port ifIndex=7 pinned MAC 18:E8:29:45:F8:F7 absent; port ifIndex=7 wrong MAC AA:BB:CC:DD:EE:FF present (pinned 18:E8:29:45:F8:F7)"},
		{"wrong MAC beside the pinned one, always_up", true, 1, []string{pinned, other}, "", true,
			"port ifIndex=7 wrong MAC AA:BB:CC:DD:EE:FF present (pinned 18:E8:29:45:F8:F7)"},
		{"wrong MAC, not always_up", false, 1, []string{other}, "", true, "port ifIndex=7 wrong MAC AA:BB:CC:DD:EE:FF present (pinned 18:E8:29:45:F8:F7)"},
		{"MAC table unreadable, always_up", true, 1, nil, "timeout", true, "port ifIndex=7 pinned MAC 18:E8:29:45:F8:F7 absent (MAC table unavailable: timeout)"},
		{"MAC table unreadable, not always_up", false, 1, nil, "timeout", false,
			"port ifIndex=7 (Gi0/7) is up, 18:E8:29:45:F8:F7 not seen; no alarm (always_up: false) (MAC table unavailable: timeout)"},
		{"no such port", false, 0, nil, "", true, "port ifIndex=7 does not exist on the agent (no ifOperStatus.7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scalars(tt.oper)
			if tt.oper == 0 {
				sc = map[string]Varbind{SysUpTime: {OID: SysUpTime, Type: "TimeTicks", Num: 5000}, IfOperStatus + ".7": {OID: IfOperStatus + ".7", Type: "NoSuchInstance"}}
			}
			p := PollPort(nil, PortInput{NowMS: 1, Port: 7, MAC: pinned, AlwaysUp: tt.alwaysUp, Scalars: sc, FDB: fdb(tt.macs...), FDBError: tt.fdbErr})
			if p.Down != tt.down || p.Message != tt.msg {
				t.Errorf("got down=%v %q\nwant down=%v %q", p.Down, p.Message, tt.down, tt.msg)
			}
		})
	}
}

func TestPollHost(t *testing.T) {
	agentUp := uint64(900_000)
	scalars := func(ctx, intr, sin, sout uint64, hrUp uint64) map[string]Varbind {
		m := map[string]Varbind{}
		for _, v := range []Varbind{
			{OID: SysUpTime, Type: "TimeTicks", Num: agentUp}, {OID: HrSystemUptime, Type: "TimeTicks", Num: hrUp},
			vbCtr(SsRawContexts, 32, ctx), vbCtr(SsRawInterrupts, 32, intr), vbCtr(SsRawSwapIn, 32, sin), vbCtr(SsRawSwapOut, 32, sout),
		} {
			m[v.OID] = v
		}
		return m
	}
	table := func(read, write uint64) Table {
		vbs := append([]Varbind{}, linuxStorage...)
		vbs = append(vbs, vbInt(HrProcessorLoad+".196608", 12), vbInt(HrProcessorLoad+".196609", 4),
			vbStr(DiskIODevice+".1", "sda"), vbCtr(DiskIOReadX+".1", 64, read), vbCtr(DiskIOWriteX+".1", 64, write),
			vbStr(DiskIODevice+".2", "sda1"), vbCtr(DiskIOReadX+".2", 64, read), vbCtr(DiskIOWriteX+".2", 64, write))
		return Index(vbs, HostColumns)
	}
	p := PollHost(nil, HostInput{NowMS: 0, Scalars: scalars(1000, 500, 5, 5, 360_000), Table: table(0, 0)})
	if p.Message != "cpu 8.0%, mem 38%, swap 512 MB, / 73.4% used; rates from the next poll" {
		t.Errorf("first poll: %q", p.Message)
	}
	if p.State.DiskSpacePct != 73.4 {
		t.Errorf("disk_space_pct not kept: %v", p.State.DiskSpacePct)
	}
	// The agent restarted (sysUpTime fell) but the host did not: the
	// kernel's counters are compared all the same.
	agentUp = 50
	p2 := PollHost(p.State, HostInput{NowMS: 10_000, Scalars: scalars(21_000, 1500, 15, 35, 361_000), Table: table(1_000_000, 4_000_000)})
	m := metricMap(p2)
	want := map[string]float64{"cpu_load": 8, "memory_pct": 37.5, "swap_used": 512_000_000, "disk_space_pct": 73.4,
		"context_switches": 2000, "interrupts": 100, "swap_io": 4, "disk_read": 100_000, "disk_write": 400_000}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("metrics\n got %v\nwant %v", m, want)
	}
	if p2.Message != "cpu 8.0%, mem 38%, swap 512 MB, / 73.4% used; 2000 context switches/s, 100 interrupts/s, disk read 100 kB/s, write 400 kB/s" {
		t.Errorf("message: %q", p2.Message)
	}
	// The host rebooted: no rates.
	p3 := PollHost(p2.State, HostInput{NowMS: 20_000, Scalars: scalars(10, 10, 0, 0, 500), Table: table(5, 5)})
	if _, has := metricMap(p3)["context_switches"]; has || !strings.HasSuffix(p3.Message, "the host restarted: rates from the next poll") {
		t.Errorf("after reboot: %v %q", metricMap(p3), p3.Message)
	}
	// net-snmp answers 0 for its kernel counters until its cache loads:
	// the jump from 0 to the real value is not a rate.
	agentUp = 100 // a fresh snmpd
	p5 := PollHost(nil, HostInput{NowMS: 0, Scalars: scalars(0, 0, 0, 0, 1000), Table: table(0, 0)})
	agentUp = 1100
	p6 := PollHost(p5.State, HostInput{NowMS: 10_000, Scalars: scalars(45_000_000, 17_000_000, 0, 0, 2000), Table: table(0, 0)})
	if m := metricMap(p6); hasKey(m, "context_switches") || hasKey(m, "interrupts") {
		t.Errorf("a rate from net-snmp's empty cache: %v", m)
	} else if v, ok := m["swap_io"]; !ok || v != 0 {
		t.Errorf("swap_io (0 all along) = %v, %v", v, ok)
	}
	// No HOST-RESOURCES: UCD's memory figures.
	sc := scalars(0, 0, 0, 0, 100)
	for _, v := range []Varbind{vbInt(MemTotalReal, 8000), vbInt(MemAvailReal, 2000), vbInt(MemTotalSwap, 1000), vbInt(MemAvailSwap, 1000)} {
		sc[v.OID] = v
	}
	p4 := PollHost(nil, HostInput{Scalars: sc, Table: Table{}})
	if p4.Message != "mem 75%, swap 0 B; rates from the next poll" {
		t.Errorf("UCD fallback: %q", p4.Message)
	}
}
