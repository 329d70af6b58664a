package devmon

import (
	"reflect"
	"testing"
)

func TestParseInterfaces(t *testing.T) {
	vbs := []Varbind{
		vbStr(IfDescr+".1", "lo"), vbInt(IfOperStatus+".1", 1), vbInt(IfAdminStatus+".1", 1),
		vbCtr(IfInOctets+".1", 32, 100), vbCtr(IfOutOctets+".1", 32, 200), vbInt(IfSpeed+".1", 10_000_000),
		vbCtr(IfInUcastPkts+".1", 32, 5), vbCtr(IfInNUcastPkts+".1", 32, 1), vbCtr(IfOutUcastPkts+".1", 32, 6), vbCtr(IfOutNUcastPkts+".1", 32, 2),
		vbCtr(IfInErrors+".1", 32, 0), vbCtr(IfOutErrors+".1", 32, 0),

		vbStr(IfDescr+".10101", "GigabitEthernet0/1"), vbStr(IfName+".10101", "Gi0/1"), vbInt(IfOperStatus+".10101", 2), vbInt(IfAdminStatus+".10101", 1),
		vbCtr(IfInOctets+".10101", 32, 1), vbCtr(IfHCInOctets+".10101", 64, 1<<40), vbCtr(IfHCOutOctets+".10101", 64, 5),
		vbInt(IfSpeed+".10101", 4294967295), vbInt(IfHighSpeed+".10101", 10000),
		vbCtr(IfHCInUcastPkts+".10101", 64, 7), vbCtr(IfHCInMulticastPkts+".10101", 64, 8), vbCtr(IfHCInBroadcastPkts+".10101", 64, 9),
		vbCtr(IfInNUcastPkts+".10101", 32, 99),
	}
	got := ParseInterfaces(Index(vbs, append(IfColumns, IfXColumns...)))
	want := []Interface{
		{Index: 1, Descr: "lo", Oper: 1, Admin: 1, SpeedBPS: 10e6, Counters: IfCounters{
			InOctets: {100, 32}, OutOctets: {200, 32}, InUcast: {5, 32}, InNUcast: {1, 32}, OutUcast: {6, 32}, OutNUcast: {2, 32},
			InErrors: {0, 32}, OutErrors: {0, 32}}},
		{Index: 10101, Descr: "GigabitEthernet0/1", Name: "Gi0/1", Oper: 2, Admin: 1, SpeedBPS: 10e9, Counters: IfCounters{
			InOctets: {1 << 40, 64}, OutOctets: {5, 64}, InUcast: {7, 64}, InMcast: {8, 64}, InBcast: {9, 64}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got[1].Label() != "GigabitEthernet0/1" || (Interface{Index: 4}).Label() != "ifIndex 4" || (Interface{Name: "eth0"}).Label() != "eth0" {
		t.Error("Label")
	}
	if OperName(7) != "lowerLayerDown" || OperName(9) != "9" || AdminName(2) != "down" {
		t.Error("status names")
	}
}

func TestInterfaceRates(t *testing.T) {
	c32 := func(v uint64) Counter { return Counter{v, 32} }
	c64 := func(v uint64) Counter { return Counter{v, 64} }
	prev := IfCounters{InOctets: c64(1000), OutOctets: c64(2000), InUcast: c64(10), OutUcast: c64(20),
		InMcast: c64(1), InBcast: c64(1), OutMcast: c64(0), OutBcast: c64(0), InErrors: c32(0), OutErrors: c32(0)}
	cur := IfCounters{InOctets: c64(11000), OutOctets: c64(4000), InUcast: c64(110), OutUcast: c64(70),
		InMcast: c64(11), InBcast: c64(6), OutMcast: c64(10), OutBcast: c64(0), InErrors: c32(3), OutErrors: c32(0)}
	r := InterfaceRates(prev, cur, 10, 1e9)
	want := Rates{InBytes: 1000, OutBytes: 200, InPkts: 11.5, OutPkts: 6, Ucast: 15, BMcast: 2.5, InErrors: 0.3, OutErrors: 0,
		Has: map[string]bool{"in_bytes": true, "out_bytes": true, "in_pkts": true, "out_pkts": true, "ucast": true, "bmcast": true, "in_errors": true, "out_errors": true}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("rates\n got %+v\nwant %+v", r, want)
	}

	// A reset the agent did not signal (interface counters cleared): the
	// 32-bit counters look like a wrap of ~4 G, far above a 100 Mbit/s
	// link's capacity, and are dropped rather than shown as a burst.
	prev32 := IfCounters{InOctets: c32(3_000_000_000), OutOctets: c32(3_000_000_000)}
	cur32 := IfCounters{InOctets: c32(1_000), OutOctets: c32(3_000_000_000 + 100_000_000)}
	r = InterfaceRates(prev32, cur32, 10, 100e6)
	if r.Has["in_bytes"] || !r.Has["out_bytes"] || r.OutBytes != 10_000_000 {
		t.Errorf("reset vs growth at 100 Mbit/s: %+v", r)
	}
	// Without a known speed a genuine wrap still gives its rate.
	r = InterfaceRates(IfCounters{InOctets: c32(1<<32 - 500)}, IfCounters{InOctets: c32(500)}, 10, 0)
	if !r.Has["in_bytes"] || r.InBytes != 100 {
		t.Errorf("wrap: %+v", r)
	}
	// SNMPv1's single non-unicast counter.
	r = InterfaceRates(IfCounters{InUcast: c32(0), InNUcast: c32(0), OutUcast: c32(0), OutNUcast: c32(0)},
		IfCounters{InUcast: c32(10), InNUcast: c32(20), OutUcast: c32(30), OutNUcast: c32(40)}, 10, 0)
	if r.InPkts != 3 || r.OutPkts != 7 || r.Ucast != 4 || r.BMcast != 6 {
		t.Errorf("v1 packets: %+v", r)
	}
	// An interface that appeared since the last poll has no rates yet.
	if r := InterfaceRates(IfCounters{}, cur, 10, 0); len(r.Has) != 0 {
		t.Errorf("new interface: %+v", r)
	}
}
