package devmon

import (
	"fmt"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// switch48 is a 48-port switch's answers: full IF-MIB and ifXTable rows and
// 4 learned MACs per port.
func switch48() (map[string]Varbind, []Varbind, []string) {
	scalars := map[string]Varbind{SysUpTime: {OID: SysUpTime, Type: "TimeTicks", Num: 100000}, SysObjectID: vbOID(SysObjectID, ".1.3.6.1.4.1.9.1.1")}
	var vbs []Varbind
	for i := 1; i <= 48; i++ {
		idx := fmt.Sprintf(".%d", i)
		for _, col := range append(append([]string{}, IfColumns...), IfXColumns...) {
			switch col {
			case IfDescr, IfName:
				vbs = append(vbs, vbStr(col+idx, fmt.Sprintf("GigabitEthernet1/0/%d", i)))
			case IfOperStatus, IfAdminStatus:
				vbs = append(vbs, vbInt(col+idx, 1))
			case IfSpeed, IfHighSpeed:
				vbs = append(vbs, Varbind{OID: col + idx, Type: "Gauge32", Num: 1000})
			default:
				vbs = append(vbs, vbCtr(col+idx, 64, uint64(1000*i)))
			}
		}
		for m := 0; m < 4; m++ {
			mac := fmt.Sprintf(".1.2.0.0.0.%d.%d", i, m)
			vbs = append(vbs, vbInt(Dot1qTpFdbPort+mac, int64(i)), vbInt(Dot1qTpFdbStatus+mac, 3))
		}
	}
	roots := append(append(append(append([]string{}, IfColumns...), IfXColumns...), FDBColumns...), ARPColumns...)
	return scalars, vbs, roots
}

// BenchmarkPollPorts48 is the module-side work of one ports poll of a
// 48-port switch, natively: reading the previous state, computing rates
// and notices, writing the new state (the module builds the table from the
// host's columns).
func BenchmarkPollPorts48(b *testing.B) {
	scalars, vbs, roots := switch48()
	table := Index(vbs, roots)
	in := PortsInput{NowMS: 1, Scalars: scalars, Table: table, Pacer: Pacer{Every: time.Minute}}
	first := PollPorts(nil, in)
	w := &zjson.Writer{}
	first.State.MarshalZJSON(w)
	state := append([]byte(nil), w.Bytes()...)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v, _ := zjson.Parse(state)
		prev := ParseState(v)
		in := PortsInput{NowMS: int64(10_000 * (i + 1)), Scalars: scalars, Table: table, Pacer: Pacer{Every: time.Minute}}
		p := PollPorts(prev, in)
		w.Reset()
		p.State.MarshalZJSON(w)
	}
}
