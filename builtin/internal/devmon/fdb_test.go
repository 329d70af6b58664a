package devmon

import (
	"reflect"
	"testing"
)

func vbInt(oid string, n int64) Varbind {
	v := Varbind{OID: oid, Type: "Integer", Int: n}
	if n >= 0 {
		v.Num = uint64(n)
	}
	return v
}

func TestParseFDB(t *testing.T) {
	q := func(vlan, mac, port string) Varbind { return vbInt(Dot1qTpFdbPort+"."+vlan+"."+mac, atoi(port)) }
	qs := func(vlan, mac string, st int64) Varbind { return vbInt(Dot1qTpFdbStatus+"."+vlan+"."+mac, st) }
	const macA, macB, macC = "24.232.41.69.248.247", "170.187.204.221.238.255", "0.17.34.51.68.85"
	tests := []struct {
		name    string
		vbs     []Varbind
		want    map[int][]string
		entries int
	}{
		{"q-bridge, learned only, mapped to ifIndex",
			[]Varbind{
				q("1", macA, "7"), qs("1", macA, 3),
				q("1", macB, "7"), qs("1", macB, 3),
				q("1", macC, "8"), qs("1", macC, 4), // self: not learned
				q("20", macA, "7"), qs("20", macA, 3), // same MAC, another VLAN
				vbInt(Dot1dBasePortIfIndex+".7", 10107), vbInt(Dot1dBasePortIfIndex+".8", 10108),
			},
			map[int][]string{10107: {"18:E8:29:45:F8:F7", "AA:BB:CC:DD:EE:FF"}}, 3},
		{"no port map: bridge port is the ifIndex; no status column: trusted",
			[]Varbind{q("1", macA, "3"), q("1", macC, "0")},
			map[int][]string{3: {"18:E8:29:45:F8:F7"}}, 1},
		{"classic BRIDGE-MIB table when Q-BRIDGE is empty",
			[]Varbind{vbInt(Dot1dTpFdbPort+"."+macB, 2), vbInt(Dot1dTpFdbStatus+"."+macB, 3), vbInt(Dot1dTpFdbPort+"."+macA, 5), vbInt(Dot1dTpFdbStatus+"."+macA, 2)},
			map[int][]string{2: {"AA:BB:CC:DD:EE:FF"}}, 1},
		{"malformed indexes are skipped",
			[]Varbind{vbInt(Dot1qTpFdbPort+".1.2.3", 4), vbInt(Dot1qTpFdbPort+".1.999.1.1.1.1.1", 4)},
			map[int][]string{}, 0},
		{"empty", nil, map[int][]string{}, 0},
	}
	for _, tt := range tests {
		got := ParseFDB(Index(tt.vbs, FDBColumns))
		if !reflect.DeepEqual(got.MACs, tt.want) || got.Entries != tt.entries {
			t.Errorf("%s: got %v (%d entries), want %v (%d)", tt.name, got.MACs, got.Entries, tt.want, tt.entries)
		}
	}
}

func TestNormalizeMAC(t *testing.T) {
	tests := []struct{ in, want string }{
		{"18:e8:29:45:f8:f7", "18:E8:29:45:F8:F7"},
		{"18-E8-29-45-F8-F7", "18:E8:29:45:F8:F7"},
		{"18e8.2945.f8f7", "18:E8:29:45:F8:F7"},
		{"18e82945f8f7", "18:E8:29:45:F8:F7"},
		{"18:e8:29:45:f8", ""},
		{"18:e8:29:45:f8:zz", ""},
	}
	for _, tt := range tests {
		got, ok := NormalizeMAC(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("NormalizeMAC(%q) = %q, %v", tt.in, got, ok)
		}
	}
}

func TestARPCount(t *testing.T) {
	phys := []Varbind{{OID: IPNetToPhysicalPhysAddress + ".2.1.4.10.0.0.1", Type: "OctetString"}, {OID: IPNetToPhysicalPhysAddress + ".2.2.16.254.128.0.0.0.0.0.0.0.0.0.0.0.0.0.1", Type: "OctetString"}}
	media := []Varbind{{OID: IPNetToMediaPhysAddress + ".2.10.0.0.1", Type: "OctetString"}}
	if n := ARPCount(Index(append(phys, media...), ARPColumns)); n != 2 {
		t.Errorf("with ipNetToPhysicalTable: %d", n)
	}
	if n := ARPCount(Index(media, ARPColumns)); n != 1 {
		t.Errorf("ipNetToMediaTable only: %d", n)
	}
}

func atoi(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}
