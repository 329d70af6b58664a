package devmon

import (
	"reflect"
	"testing"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

func TestStateRoundTrip(t *testing.T) {
	s := &State{
		AtMS: 1795000000123, Uptime: 4294967000, Vendor: Cisco,
		Counters: map[string]Counter{"tcp_retrans": {V: 1<<64 - 1, Bits: 64}},
		Ifs: map[int]*IfState{
			3:     {Name: "Gi0/2", Oper: 1, Admin: 1, MACs: []string{"AA:BB:CC:DD:EE:FF"}, MACCount: 1, Counters: IfCounters{InOctets: {V: 42, Bits: 32}}},
			10001: {Name: "Po1", Oper: 2, Admin: 1, MACCount: 900},
			4:     {Name: "Gi0/3", Oper: 1, Admin: 1, MACs: []string{}},
		},
		Port:         &IfState{Name: "Gi0/9", Oper: 1, Admin: 1, MACs: []string{}},
		Notices:      map[string]*Notice{"if:3": {AtMS: 5, ChangedMS: 4, K: 2, Held: 1, Seen: "oper=up admin=up"}},
		DiskSpacePct: 73.4,
	}
	w := &zjson.Writer{}
	s.MarshalZJSON(w)
	v, err := zjson.Parse(w.Bytes())
	if err != nil {
		t.Fatalf("%v: %s", err, w.Bytes())
	}
	got := ParseState(v)
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("round trip\n got %+v\nwant %+v\njson %s", got, s, w.Bytes())
	}
	for _, bad := range []string{`null`, `[]`, `{"old":1}`, `{"v":99,"at_ms":1}`} {
		v, _ := zjson.Parse([]byte(bad))
		if ParseState(v) != nil {
			t.Errorf("ParseState(%s) is not nil", bad)
		}
	}
}
