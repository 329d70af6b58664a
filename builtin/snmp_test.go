package builtin_test

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/zappy-mon/zappy/builtin/internal/devmon"
	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/engine"
	"github.com/zappy-mon/zappy/runtime/pacing"
)

// poller runs successive polls of one SNMP monitor, handing each poll the
// state the previous one returned, as the daemon does.
type poller struct {
	m       *engine.Module
	typ     string
	target  string
	config  map[string]any
	state   json.RawMessage
	timeout time.Duration
	every   time.Duration // notify_every_n_secs
}

func (p *poller) poll(t *testing.T) check.Result {
	t.Helper()
	cfg, err := json.Marshal(p.config)
	if err != nil {
		t.Fatal(err)
	}
	timeout := p.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	every := p.every
	if every == 0 {
		every = 10 * time.Minute
	}
	res := p.m.Run(t.Context(), check.Request{Name: t.Name(), Type: p.typ, Target: p.target, Timeout: timeout, Config: cfg,
		State: p.state, NotifyEvery: every, AfterEveryN: 1})
	if res.State != nil {
		p.state = res.State
	}
	return res
}

func metrics(res check.Result) map[string]float64 {
	m := map[string]float64{}
	for _, x := range res.Metrics {
		m[x.Name] = x.Value
	}
	return m
}

func eventTexts(res check.Result) string {
	var out []string
	for _, e := range res.Events {
		out = append(out, e.Title+": "+e.Message)
	}
	return strings.Join(out, " | ")
}

// snmpConfigs are the credentials every real-agent test runs with.
func snmpConfigs(d *testutil.SNMPD) map[string]map[string]any {
	u := testutil.SNMPPrivUser
	return map[string]map[string]any{
		"v2c": {"community": d.Community},
		"v3 authPriv": {"version": 3, "username": u.Name, "auth_protocol": u.AuthProtocol, "auth_passphrase": u.AuthPass,
			"priv_protocol": u.PrivProtocol, "priv_passphrase": u.PrivPass},
	}
}

// TestPortsSnmpd polls Debian's snmpd (real IF-MIB, HOST-RESOURCES) twice
// over v2c and SNMPv3 authPriv.
func TestPortsSnmpd(t *testing.T) {
	d := testutil.StartSNMPD(t, testutil.SNMPDOptions{})
	m := newModule(t)
	for name, cfg := range snmpConfigs(d) {
		t.Run(name, func(t *testing.T) {
			p := &poller{m: m, typ: "ports", target: "snmp://" + d.Addr, config: cfg}
			first := p.poll(t)
			if first.Status != check.Up || !strings.HasPrefix(first.Message, "baseline: ") || !strings.HasSuffix(first.Message, "rates from the next poll") {
				t.Fatalf("first poll: %s %q", first.Status, first.Message)
			}
			ifs, _ := first.Fields["interfaces"].([]any)
			var lo map[string]any
			for _, i := range ifs {
				if row := i.(map[string]any); row["name"] == "lo" {
					lo = row
				}
			}
			if lo == nil || lo["oper"] != "up" || lo["admin"] != "up" {
				t.Fatalf("no lo interface up in %v", ifs)
			}
			time.Sleep(1100 * time.Millisecond)
			second := p.poll(t)
			mx := metrics(second)
			idx := fmt.Sprint(lo["index"])
			for _, name := range []string{"if" + idx + "_in", "if" + idx + "_out", "total_bits_in", "total_bits_out", "total_pkts_in",
				"total_errors_in", "ports_up_count", "mac_count", "arp_count", "memory_pct", "tcp_retrans"} {
				if _, ok := mx[name]; !ok {
					t.Errorf("second poll: no %s in %v", name, mx)
				}
			}
			if mx["total_bits_in"] < 0 || mx["ports_up_count"] < 1 || mx["memory_pct"] <= 0 || mx["memory_pct"] > 100 {
				t.Errorf("implausible: %v", mx)
			}
			if second.Status != check.Up || strings.HasPrefix(second.Message, "baseline") || len(second.Events) != 0 {
				t.Errorf("second poll: %s %q %v", second.Status, second.Message, second.Events)
			}
		})
	}
}

// TestHostSnmpd polls a Linux host's performance through snmpd.
func TestHostSnmpd(t *testing.T) {
	d := testutil.StartSNMPD(t, testutil.SNMPDOptions{})
	m := newModule(t)
	for name, cfg := range snmpConfigs(d) {
		t.Run(name, func(t *testing.T) {
			p := &poller{m: m, typ: "host", target: "snmp://" + d.Addr, config: cfg}
			first := p.poll(t)
			if first.Status != check.Up || !strings.Contains(first.Message, "% used; rates from the next poll") {
				t.Fatalf("first poll: %s %q", first.Status, first.Message)
			}
			time.Sleep(1100 * time.Millisecond)
			second := p.poll(t)
			mx := metrics(second)
			for _, name := range []string{"memory_pct", "swap_used", "disk_space_pct", "disk_read", "disk_write"} {
				if _, ok := mx[name]; !ok {
					t.Errorf("no %s in %v (%q)", name, mx, second.Message)
				}
			}
			if mx["disk_space_pct"] <= 0 || mx["disk_space_pct"] > 100 || mx["disk_read"] < 0 {
				t.Errorf("implausible: %v", mx)
			}
			var st map[string]any
			if err := json.Unmarshal(p.state, &st); err != nil || st["disk_space_pct"] != mx["disk_space_pct"] {
				t.Errorf("disk_space_pct not persisted in the state: %s", p.state)
			}
		})
	}
}

// switchAgent makes a Go SNMP agent look like a 2-port switch with a Q-BRIDGE
// forwarding database.
func switchAgent(t *testing.T) *testutil.SNMPAgent {
	a := testutil.StartSNMPAgent(t, "lab")
	a.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(100_000))
	a.Set(devmon.SysObjectID, gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.9.1.1208") // a Cisco
	a.Set(devmon.TCPRetransSegs, gosnmp.Counter32, uint32(10))
	for i, name := range map[int]string{1: "GigabitEthernet0/1", 2: "GigabitEthernet0/2"} {
		setIf(a, i, name, 1, 1000)
	}
	a.Set(devmon.Dot1qTpFdbPort+".1.24.232.41.69.248.247", gosnmp.Integer, 1) // 18:E8:29:45:F8:F7 on port 1
	a.Set(devmon.Dot1qTpFdbStatus+".1.24.232.41.69.248.247", gosnmp.Integer, 3)
	a.Set(devmon.CiscoCPU5min+".1", gosnmp.Gauge32, uint32(23))
	return a
}

func setIf(a *testutil.SNMPAgent, i int, name string, oper int, octets uint64) {
	idx := fmt.Sprintf(".%d", i)
	a.Set(devmon.IfDescr+idx, gosnmp.OctetString, name)
	a.Set(devmon.IfOperStatus+idx, gosnmp.Integer, oper)
	a.Set(devmon.IfAdminStatus+idx, gosnmp.Integer, 1)
	a.Set(devmon.IfHighSpeed+idx, gosnmp.Gauge32, uint32(1000))
	a.Set(devmon.IfHCInOctets+idx, gosnmp.Counter64, octets)
	a.Set(devmon.IfHCOutOctets+idx, gosnmp.Counter64, octets)
}

// TestPortsChangeNotices drives a switch through changes between polls.
func TestPortsChangeNotices(t *testing.T) {
	a := switchAgent(t)
	p := &poller{m: newModule(t), typ: "ports", target: "snmp://" + a.Addr, config: map[string]any{"community": "lab"}, every: 2 * time.Second}
	first := p.poll(t)
	if first.Status != check.Up || first.Fields["vendor"] != "cisco" || metrics(first)["cpu_load"] != 23 || len(first.Events) != 0 {
		t.Fatalf("first: %q %v %v", first.Message, first.Fields["vendor"], metrics(first))
	}
	// Port 2 goes down, a MAC appears on port 1, port 3 appears.
	a.Set(devmon.IfOperStatus+".2", gosnmp.Integer, 2)
	a.Set(devmon.Dot1qTpFdbPort+".1.170.187.204.221.238.255", gosnmp.Integer, 1)
	a.Set(devmon.Dot1qTpFdbStatus+".1.170.187.204.221.238.255", gosnmp.Integer, 3)
	setIf(a, 3, "GigabitEthernet0/3", 1, 0)
	second := p.poll(t)
	want := "PORT MAC CHANGE: GigabitEthernet0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF] | " +
		"PORT CHANGE: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) | " +
		"PORT CHANGE: GigabitEthernet0/3 appeared oper=up admin=up"
	if got := eventTexts(second); got != want || second.Status != check.Up {
		t.Fatalf("second poll %s: events\n got %s\nwant %s", second.Status, got, want)
	}
	// Within the silence window (notify_every 2 s) port 2 comes back:
	// held, not lost — it goes out once the window has passed.
	a.Set(devmon.IfOperStatus+".2", gosnmp.Integer, 1)
	if third := p.poll(t); len(third.Events) != 0 {
		t.Fatalf("third poll (silence window): %s", eventTexts(third))
	}
	time.Sleep(2100 * time.Millisecond)
	if got := eventTexts(p.poll(t)); got != "PORT CHANGE: GigabitEthernet0/2 oper=up admin=up (was oper=down admin=up)" {
		t.Fatalf("after the window: %q", got)
	}
}

// TestPortsCountersWrapAndReset: a 32-bit counter wrapping gives its true
// rate; a device reboot and an unsignalled counter reset give none.
func TestPortsCountersWrapAndReset(t *testing.T) {
	a := testutil.StartSNMPAgent(t, "")
	a.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(5000))
	a.Set(devmon.IfDescr+".7", gosnmp.OctetString, "Fa0/7")
	a.Set(devmon.IfOperStatus+".7", gosnmp.Integer, 1)
	a.Set(devmon.IfAdminStatus+".7", gosnmp.Integer, 1)
	a.Set(devmon.IfSpeed+".7", gosnmp.Gauge32, uint32(100_000_000))
	a.Set(devmon.IfInOctets+".7", gosnmp.Counter32, uint32(1<<32-1_000_000))
	a.Set(devmon.IfOutOctets+".7", gosnmp.Counter32, uint32(0))
	p := &poller{m: newModule(t), typ: "ports", target: "snmp://" + a.Addr, config: map[string]any{"version": "1"}}
	p.poll(t)
	time.Sleep(time.Second)
	a.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(5100))
	a.Set(devmon.IfInOctets+".7", gosnmp.Counter32, uint32(1_000_000)) // wrapped: 2 MB in ~1 s
	r := metrics(p.poll(t))
	if in := r["if7_in"]; in < 1_000_000 || in > 2_500_000 {
		t.Errorf("after a wrap: if7_in = %v B/s", in)
	}
	time.Sleep(100 * time.Millisecond)
	a.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(300)) // rebooted
	a.Set(devmon.IfInOctets+".7", gosnmp.Counter32, uint32(3_000_000_000))
	res := p.poll(t)
	if _, has := metrics(res)["if7_in"]; has || !strings.Contains(res.Message, "the agent restarted") {
		t.Errorf("after a reboot: %v %q", metrics(res), res.Message)
	}
	time.Sleep(100 * time.Millisecond)
	a.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(320))
	a.Set(devmon.IfInOctets+".7", gosnmp.Counter32, uint32(5)) // cleared without a reboot
	if m := metrics(p.poll(t)); m["if7_in"] != 0 {
		if _, has := m["if7_in"]; has {
			t.Errorf("after a counter reset: %v", m)
		}
	}
}

// TestPortAlarmTable exercises every row of APMonitor's port alarm table,
// and the recovery, through the module against an agent the test drives.
func TestPortAlarmTable(t *testing.T) {
	const pinned = "18:E8:29:45:F8:F7"
	const pinnedArcs, otherArcs = "24.232.41.69.248.247", "170.187.204.221.238.255"
	a := testutil.StartSNMPAgent(t, "")
	a.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(5000))
	a.Set(devmon.IfDescr+".10107", gosnmp.OctetString, "Gi1/0/7")
	a.Set(devmon.IfAdminStatus+".10107", gosnmp.Integer, 1)
	a.Set(devmon.Dot1dBasePortIfIndex+".7", gosnmp.Integer, 10107)
	fdb := func(arcs ...string) {
		a.Delete(devmon.Dot1qTpFdbPort)
		a.Delete(devmon.Dot1qTpFdbStatus)
		for _, m := range arcs {
			a.Set(devmon.Dot1qTpFdbPort+".1."+m, gosnmp.Integer, 7)
			a.Set(devmon.Dot1qTpFdbStatus+".1."+m, gosnmp.Integer, 3)
		}
	}
	m := newModule(t)
	tests := []struct {
		name     string
		alwaysUp bool
		oper     int
		macs     []string
		status   check.Status
		message  string
	}{
		{"all clear", true, 1, []string{pinnedArcs}, check.Up, "port ifIndex=10107 (Gi1/0/7) is up with " + pinned},
		{"port down, always_up", true, 2, nil, check.Down, "port ifIndex=10107 " + pinned + " is down (admin=up)"},
		{"port down, not always_up", false, 2, nil, check.Up, "port ifIndex=10107 (Gi1/0/7) is down (admin=up); no alarm (always_up: false)"},
		{"MAC absent, always_up", true, 1, nil, check.Down, "port ifIndex=10107 pinned MAC " + pinned + " absent"},
		{"MAC absent, not always_up", false, 1, nil, check.Up, "port ifIndex=10107 (Gi1/0/7) is up, " + pinned + " not seen; no alarm (always_up: false)"},
		{"wrong MAC, always_up", true, 1, []string{pinnedArcs, otherArcs}, check.Down, "port ifIndex=10107 wrong MAC AA:BB:CC:DD:EE:FF present (pinned " + pinned + ")"},
		{"wrong MAC, not always_up", false, 1, []string{otherArcs}, check.Down, "port ifIndex=10107 wrong MAC AA:BB:CC:DD:EE:FF present (pinned " + pinned + ")"},
		{"recovery", false, 1, []string{pinnedArcs}, check.Up, "port ifIndex=10107 (Gi1/0/7) is up with " + pinned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.Set(devmon.IfOperStatus+".10107", gosnmp.Integer, tt.oper)
			fdb(tt.macs...)
			p := &poller{m: m, typ: "port", target: "snmp://" + a.Addr,
				config: map[string]any{"port": 10107, "mac": strings.ToLower(pinned), "always_up": map[bool]string{true: "yes", false: "no"}[tt.alwaysUp]}}
			res := p.poll(t)
			if res.Status != tt.status || res.Message != tt.message {
				t.Errorf("got %s %q\nwant %s %q", res.Status, res.Message, tt.status, tt.message)
			}
			if tt.status == check.Down && res.Class != check.ApplicationError {
				t.Errorf("class %s", res.Class)
			}
		})
	}
	p := &poller{m: m, typ: "port", target: "snmp://" + a.Addr, config: map[string]any{"port": 99, "mac": pinned}}
	if res := p.poll(t); res.Status != check.Down || res.Message != "port ifIndex=99 does not exist on the agent (no ifOperStatus.99)" {
		t.Errorf("no such port: %s %q", res.Status, res.Message)
	}
}

// TestPortSnmpdPassPersist serves a Q-BRIDGE forwarding database through
// snmpd's pass_persist next to snmpd's real IF-MIB (lo is ifIndex 1).
func TestPortSnmpdPassPersist(t *testing.T) {
	fdb := func(mac string, status string) testutil.SNMPTable {
		return testutil.SNMPTable{Root: ".1.3.6.1.2.1.17.7", Objects: []testutil.SNMPObject{
			{OID: devmon.Dot1qTpFdbPort + ".1." + mac, Type: "integer", Value: "1"},
			{OID: devmon.Dot1qTpFdbStatus + ".1." + mac, Type: "integer", Value: status},
		}}
	}
	m := newModule(t)
	tests := []struct {
		name    string
		table   testutil.SNMPTable
		status  check.Status
		message string
	}{
		{"pinned MAC learned on lo", fdb("24.232.41.69.248.247", "3"), check.Up, "port ifIndex=1 (lo) is up with 18:E8:29:45:F8:F7"},
		{"another MAC", fdb("170.187.204.221.238.255", "3"), check.Down,
			"port ifIndex=1 pinned MAC 18:E8:29:45:F8:F7 absent; port ifIndex=1 wrong MAC AA:BB:CC:DD:EE:FF present (pinned 18:E8:29:45:F8:F7)"},
		{"pinned MAC not learned (static)", fdb("24.232.41.69.248.247", "5"), check.Down, "port ifIndex=1 pinned MAC 18:E8:29:45:F8:F7 absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testutil.StartSNMPD(t, testutil.SNMPDOptions{Tables: []testutil.SNMPTable{tt.table}})
			p := &poller{m: m, typ: "port", target: "snmp://" + d.Addr,
				config: map[string]any{"community": d.Community, "port": 1, "mac": "18:e8:29:45:f8:f7", "always_up": true}}
			if res := p.poll(t); res.Status != tt.status || res.Message != tt.message {
				t.Errorf("got %s %q\nwant %s %q", res.Status, res.Message, tt.status, tt.message)
			}
		})
	}
}

// TestSNMPFailures: each way an agent can fail gives a clear status and
// message, never a crash.
func TestSNMPFailures(t *testing.T) {
	d := testutil.StartSNMPD(t, testutil.SNMPDOptions{})
	muted := switchAgent(t)
	muted.SetMute(true)
	bare := testutil.StartSNMPAgent(t, "") // a Cisco sysObjectID, none of Cisco's tables
	bare.Set(devmon.SysUpTime, gosnmp.TimeTicks, uint32(1))
	bare.Set(devmon.SysObjectID, gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.9.1.1")
	bare.Set(devmon.IfDescr+".1", gosnmp.OctetString, "Gi0/1")
	bare.Set(devmon.IfOperStatus+".1", gosnmp.Integer, 1)
	bare.Set(devmon.IfAdminStatus+".1", gosnmp.Integer, 1)
	u := testutil.SNMPPrivUser
	v3 := func(user, auth, priv string) map[string]any {
		return map[string]any{"version": "3", "username": user, "auth_protocol": "SHA", "auth_passphrase": auth, "priv_protocol": "AES", "priv_passphrase": priv}
	}
	m := newModule(t)
	tests := []struct {
		name    string
		typ     string
		target  string
		config  map[string]any
		status  check.Status
		class   check.Class
		message string
	}{
		{"nothing listening", "ports", "snmp://" + testutil.ClosedPort(t, "udp"), nil, check.Down, check.ExceptionError,
			"snmp 127.0.0.1:{*}: port unreachable after 2 attempts — no SNMP agent listening on that port?"},
		{"agent not answering", "host", "snmp://" + muted.Addr, map[string]any{"community": "lab"}, check.Down, check.ExceptionError,
			"snmp 127.0.0.1:{*}: no response after 2 attempts (timeout 400ms) — agent down, wrong port or wrong community?"},
		{"wrong community", "ports", "snmp://" + d.Addr, map[string]any{"community": "not-it"}, check.Down, check.ExceptionError,
			"snmp 127.0.0.1:{*}: no response after 2 attempts (timeout 400ms) — agent down, wrong port or wrong community?"},
		{"v3 wrong auth passphrase", "host", "snmp://" + d.Addr, v3(u.Name, "wrong-pass-phrase", u.PrivPass), check.Down, check.ApplicationError,
			`snmp 127.0.0.1:{*}: authentication failed for SNMPv3 user "zappy-priv": wrong auth passphrase or auth protocol SHA (usmStatsWrongDigests)`},
		{"v3 unknown user", "port", "snmp://" + d.Addr, map[string]any{"version": "3", "username": "nobody", "port": 1, "mac": "00:00:00:00:00:01"},
			check.Down, check.ApplicationError, `snmp 127.0.0.1:{*}: SNMPv3 user "nobody" is unknown to the agent (usmStatsUnknownUserNames)`},
		{"v3 wrong priv passphrase", "host", "snmp://" + d.Addr, v3(u.Name, u.AuthPass, "wrong-priv-phrase"), check.Down, check.ApplicationError,
			`snmp 127.0.0.1:{*}: the agent answered SNMPv3 engine discovery but dropped every authPriv request (2 attempts, timeout 400ms): wrong priv passphrase or privacy protocol AES for SNMPv3 user "zappy-priv"?`},
		{"v3 security level below the user's", "host", "snmp://" + d.Addr, map[string]any{"version": "3", "username": u.Name, "auth_protocol": "SHA", "auth_passphrase": u.AuthPass},
			check.Down, check.ApplicationError, `snmp 127.0.0.1:{*}: agent answered error-status AuthorizationError (access control: security level authNoPriv is below what user "zappy-priv" needs, or the OID is outside its view)`},
		{"port not on the agent", "port", "snmp://" + d.Addr, map[string]any{"version": "1", "community": d.Community, "port": 99, "mac": "00:00:00:00:00:01"},
			check.Down, check.ApplicationError, "port ifIndex=99 does not exist on the agent (no ifOperStatus.99)"},
		{"vendor OIDs answered noSuchObject", "ports", "snmp://" + bare.Addr, nil, check.Up, check.Success,
			"baseline: 1 interfaces, 1 up; 0 MACs, 0 ARP; rates from the next poll"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &poller{m: m, typ: tt.typ, target: tt.target, config: tt.config, timeout: 2 * time.Second}
			res := p.poll(t)
			if res.Status != tt.status || res.Class != tt.class || !messageRE(tt.message).MatchString(res.Message) {
				t.Errorf("got %s/%s %q\nwant %s/%s %q", res.Status, res.Class, res.Message, tt.status, tt.class, tt.message)
			}
		})
	}
}

// TestPacerMatchesDaemon: the module's change notices are paced with the
// daemon's curve.
func TestPacerMatchesDaemon(t *testing.T) {
	for _, every := range []time.Duration{time.Minute, 10 * time.Minute} {
		for n := 1; n <= 5; n++ {
			for k := 0; k <= 6; k++ {
				if got, want := (devmon.Pacer{Every: every, N: n}).Delay(k), pacing.Delay(every, n, k); got != want {
					t.Errorf("Delay(%v, %d, %d) = %v, daemon says %v", every, n, k, got, want)
				}
			}
		}
	}
}

func bigSwitch(tb testing.TB, ports int) *testutil.SNMPAgent {
	a := testutil.StartSNMPAgent(tb, "")
	testutil.SNMPSwitch(a, ports, 4)
	return a
}

// BenchmarkPortsPoll48 is one ports poll (after the first) of a 48-port
// switch through the built-in module: 3 SNMP requests, ~1,700 varbinds.
func BenchmarkPortsPoll48(b *testing.B) {
	a := bigSwitch(b, 48)
	m := newModule(b)
	ctx := b.Context()
	req := check.Request{Name: "sw", Type: "ports", Target: "snmp://" + a.Addr, Timeout: 10 * time.Second, Config: []byte(`{}`), NotifyEvery: 10 * time.Minute, AfterEveryN: 1}
	first := m.Run(ctx, req)
	if first.Status != check.Up {
		b.Fatalf("%s %s", first.Status, first.Message)
	}
	req.State = first.State
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := m.Run(ctx, req)
		if res.Status != check.Up || len(res.Fields["interfaces"].([]any)) != 48 {
			b.Fatalf("%s %s", res.Status, res.Message)
		}
		req.State = res.State
	}
}

// startMisnamingAgent is a v2c agent that answers every GET by position
// but names each answer by its request OID without the last arc (sysUpTime
// for sysUpTime.0, ifOperStatus for ifOperStatus.1), as some embedded
// agents do, and has no tables (GETNEXT and GETBULK: endOfMibView).
func startMisnamingAgent(t *testing.T, objs map[string]gosnmp.SnmpPDU) string {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 65535)
		dec := &gosnmp.GoSNMP{}
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			req, err := dec.SnmpDecodePacket(buf[:n])
			if err != nil {
				continue
			}
			resp := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
			for _, vb := range req.Variables {
				name := "." + strings.TrimPrefix(vb.Name, ".")
				pdu, ok := objs[name]
				switch {
				case req.PDUType != gosnmp.GetRequest:
					pdu = gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView}
				case !ok:
					pdu = gosnmp.SnmpPDU{Name: name, Type: gosnmp.NoSuchObject}
				default:
					pdu.Name = name[:strings.LastIndex(name, ".")]
				}
				resp.Variables = append(resp.Variables, pdu)
			}
			if out, err := resp.MarshalMsg(); err == nil {
				conn.WriteToUDP(out, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

// TestSNMPGetMatchedByPosition: a GET answer counts for the OID asked at
// its position, whatever name the agent gives it.
func TestSNMPGetMatchedByPosition(t *testing.T) {
	addr := startMisnamingAgent(t, map[string]gosnmp.SnmpPDU{
		devmon.SysUpTime:            {Type: gosnmp.TimeTicks, Value: uint32(100_000)},
		devmon.IfDescr + ".3":       {Type: gosnmp.OctetString, Value: []byte("Gi0/3")},
		devmon.IfOperStatus + ".3":  {Type: gosnmp.Integer, Value: 2},
		devmon.IfAdminStatus + ".3": {Type: gosnmp.Integer, Value: 1},
	})
	m := newModule(t)
	tests := []struct {
		name    string
		config  map[string]any
		status  check.Status
		message string
	}{
		{"port found", map[string]any{"port": 3, "mac": "18:e8:29:45:f8:f7", "always_up": true}, check.Down,
			"port ifIndex=3 18:E8:29:45:F8:F7 is down (admin=up){*}"},
		{"port not on the agent", map[string]any{"port": 4, "mac": "18:e8:29:45:f8:f7"}, check.Down,
			"port ifIndex=4 does not exist on the agent (no ifOperStatus.4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &poller{m: m, typ: "port", target: "snmp://" + addr, config: tt.config, timeout: 2 * time.Second}
			if res := p.poll(t); res.Status != tt.status || !messageRE(tt.message).MatchString(res.Message) {
				t.Errorf("got %s %q\nwant %s %q", res.Status, res.Message, tt.status, tt.message)
			}
		})
	}
}
