package testutil

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// agentClient connects a gosnmp client to a. It does not retry, so that a
// dropped request is exactly one request.
func agentClient(t testing.TB, a *SNMPAgent, version gosnmp.SnmpVersion, timeout time.Duration) *gosnmp.GoSNMP {
	t.Helper()
	host, port, err := net.SplitHostPort(a.Addr)
	if err != nil {
		t.Fatalf("split %q: %v", a.Addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		t.Fatalf("port %q: %v", port, err)
	}
	g := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Community: a.Community, Version: version,
		Timeout: timeout, Retries: 0, MaxOids: gosnmp.MaxOids}
	if err := g.Connect(); err != nil {
		t.Fatalf("connect gosnmp to %s: %v", a.Addr, err)
	}
	t.Cleanup(func() { _ = g.Conn.Close() })
	return g
}

// agentObj is one object to Set, with the varbind value gosnmp decodes for it.
type agentObj struct {
	oid   string
	typ   gosnmp.Asn1BER
	value any // as given to Set
	want  any // as a gosnmp client decodes it
}

func (o agentObj) pdu() gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: "." + strings.TrimPrefix(o.oid, "."), Type: o.typ, Value: o.want}
}

// setAll sets objs in reverse order, so that the agent has to sort them.
func setAll(a *SNMPAgent, objs []agentObj) {
	for i := len(objs) - 1; i >= 0; i-- {
		a.Set(objs[i].oid, objs[i].typ, objs[i].value)
	}
}

// The fixture for Get and GetNext, in OID order. Column 10 sorts after
// column 2 and row 10 after row 9, which string order would get wrong.
var (
	sysDescr      = agentObj{".1.3.6.1.2.1.1.1.0", gosnmp.OctetString, "zappy test switch", []byte("zappy test switch")}
	sysObjectID   = agentObj{"1.3.6.1.2.1.1.2.0", gosnmp.ObjectIdentifier, "1.3.6.1.4.1.9.1.1745", ".1.3.6.1.4.1.9.1.1745"}
	sysUpTime     = agentObj{".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks, uint32(123456), uint32(123456)}
	ifDescr9      = agentObj{".1.3.6.1.2.1.2.2.1.2.9", gosnmp.OctetString, "Gi0/9", []byte("Gi0/9")}
	ifDescr10     = agentObj{".1.3.6.1.2.1.2.2.1.2.10", gosnmp.OctetString, []byte("Gi0/10"), []byte("Gi0/10")}
	ifSpeed9      = agentObj{".1.3.6.1.2.1.2.2.1.5.9", gosnmp.Gauge32, 1000000000, uint(1000000000)}
	ifPhysAddr9   = agentObj{".1.3.6.1.2.1.2.2.1.6.9", gosnmp.OctetString, []byte{0x00, 0x1b, 0x54, 0xaa, 0xbb, 0xcc}, []byte{0x00, 0x1b, 0x54, 0xaa, 0xbb, 0xcc}}
	ifInOctets9   = agentObj{".1.3.6.1.2.1.2.2.1.10.9", gosnmp.Counter32, uint32(4294967295), uint(4294967295)}
	ipAdEntAddr   = agentObj{".1.3.6.1.2.1.4.20.1.1.10.0.0.1", gosnmp.IPAddress, "10.0.0.1", "10.0.0.1"}
	ifHCInOctets9 = agentObj{".1.3.6.1.2.1.31.1.1.1.6.9", gosnmp.Counter64, uint64(18446744073709551615), uint64(18446744073709551615)}
	ciscoTemp1    = agentObj{".1.3.6.1.4.1.9.9.13.1.3.1.3.1", gosnmp.Gauge32, uint(41), uint(41)}
	vendorLast    = agentObj{".1.3.6.1.4.1.99999.1.0", gosnmp.Integer, -7, -7}

	agentFixture = []agentObj{sysDescr, sysObjectID, sysUpTime, ifDescr9, ifDescr10, ifSpeed9, ifPhysAddr9,
		ifInOctets9, ipAdEntAddr, ifHCInOctets9, ciscoTemp1, vendorLast}
)

// nameOnly is the varbind a client sends, and the agent echoes in v1 errors.
func nameOnly(oid string) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: "." + strings.TrimPrefix(oid, "."), Type: gosnmp.Null}
}

func exception(oid string, typ gosnmp.Asn1BER) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: "." + strings.TrimPrefix(oid, "."), Type: typ}
}

// checkResponse compares a response's error status, error index and varbinds.
func checkResponse(t *testing.T, got *gosnmp.SnmpPacket, wantErr gosnmp.SNMPError, wantIndex uint8, want []gosnmp.SnmpPDU) {
	t.Helper()
	if got.Error != wantErr || got.ErrorIndex != wantIndex {
		t.Errorf("error-status %v error-index %d, want %v %d", got.Error, got.ErrorIndex, wantErr, wantIndex)
	}
	if len(got.Variables) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got.Variables, want) {
		t.Errorf("varbinds:\n got %s\nwant %s", formatPDUs(got.Variables), formatPDUs(want))
	}
}

func formatPDUs(pdus []gosnmp.SnmpPDU) string {
	var b strings.Builder
	for _, p := range pdus {
		fmt.Fprintf(&b, "\n  %s %v %#v", p.Name, p.Type, p.Value)
	}
	return b.String()
}

// agentCase is a request for some OIDs from a client of one version, and
// the response it must get.
type agentCase struct {
	name      string
	version   gosnmp.SnmpVersion
	oids      []string
	wantErr   gosnmp.SNMPError
	wantIndex uint8
	want      []gosnmp.SnmpPDU
}

// runAgentCases sends each case to a with op, "get" or "getnext".
func runAgentCases(t *testing.T, a *SNMPAgent, op string, tests []agentCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := agentClient(t, a, tt.version, 5*time.Second)
			send := g.Get
			if op == "getnext" {
				send = g.GetNext
			}
			got, err := send(tt.oids)
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			checkResponse(t, got, tt.wantErr, tt.wantIndex, tt.want)
		})
	}
}

func TestSNMPAgentGet(t *testing.T) {
	a := StartSNMPAgent(t, "")
	setAll(a, agentFixture)
	var all, allButCounter64 []string
	var allPDUs, allButCounter64PDUs []gosnmp.SnmpPDU
	for _, o := range agentFixture {
		all, allPDUs = append(all, o.oid), append(allPDUs, o.pdu())
		if o.typ != gosnmp.Counter64 {
			allButCounter64, allButCounter64PDUs = append(allButCounter64, o.oid), append(allButCounter64PDUs, o.pdu())
		}
	}
	runAgentCases(t, a, "get", []agentCase{
		{"v2c every type", gosnmp.Version2c, all, gosnmp.NoError, 0, allPDUs},
		{"v2c without leading dot", gosnmp.Version2c, []string{"1.3.6.1.2.1.1.1.0"}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{sysDescr.pdu()}},
		{"v2c missing row of an existing column", gosnmp.Version2c, []string{".1.3.6.1.2.1.2.2.1.2.11"}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{exception(".1.3.6.1.2.1.2.2.1.2.11", gosnmp.NoSuchInstance)}},
		{"v2c missing object", gosnmp.Version2c, []string{".1.3.6.1.2.1.1.4.0"}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{exception(".1.3.6.1.2.1.1.4.0", gosnmp.NoSuchObject)}},
		{"v2c below a scalar instance", gosnmp.Version2c, []string{".1.3.6.1.2.1.1.3.0.1"}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{exception(".1.3.6.1.2.1.1.3.0.1", gosnmp.NoSuchObject)}},
		{"v2c a column, not an instance", gosnmp.Version2c, []string{".1.3.6.1.2.1.2.2.1.2"}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{exception(".1.3.6.1.2.1.2.2.1.2", gosnmp.NoSuchInstance)}},
		{"v2c mixed", gosnmp.Version2c, []string{sysDescr.oid, ".1.3.6.1.2.1.1.4.0", ifDescr10.oid, ".1.3.6.1.2.1.2.2.1.5.10"}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{sysDescr.pdu(), exception(".1.3.6.1.2.1.1.4.0", gosnmp.NoSuchObject), ifDescr10.pdu(),
				exception(".1.3.6.1.2.1.2.2.1.5.10", gosnmp.NoSuchInstance)}},
		{"v1 every type v1 carries", gosnmp.Version1, allButCounter64, gosnmp.NoError, 0, allButCounter64PDUs},
		{"v1 missing objects", gosnmp.Version1, []string{sysDescr.oid, ".1.3.6.1.2.1.1.4.0", ".1.3.6.1.2.1.2.2.1.2.11"}, gosnmp.NoSuchName, 2,
			[]gosnmp.SnmpPDU{nameOnly(sysDescr.oid), nameOnly(".1.3.6.1.2.1.1.4.0"), nameOnly(".1.3.6.1.2.1.2.2.1.2.11")}},
		{"v1 first OID missing", gosnmp.Version1, []string{".1.3.6.1.2.1.1.4.0", sysDescr.oid}, gosnmp.NoSuchName, 1,
			[]gosnmp.SnmpPDU{nameOnly(".1.3.6.1.2.1.1.4.0"), nameOnly(sysDescr.oid)}},
		{"v1 Counter64 is noSuchName", gosnmp.Version1, []string{sysDescr.oid, ifHCInOctets9.oid}, gosnmp.NoSuchName, 2,
			[]gosnmp.SnmpPDU{nameOnly(sysDescr.oid), nameOnly(ifHCInOctets9.oid)}},
	})
}

func TestSNMPAgentGetNext(t *testing.T) {
	a := StartSNMPAgent(t, "")
	setAll(a, agentFixture)
	runAgentCases(t, a, "getnext", []agentCase{
		{"v2c before the first object", gosnmp.Version2c, []string{".1.3"}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{sysDescr.pdu()}},
		{"v2c an object", gosnmp.Version2c, []string{sysDescr.oid}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{sysObjectID.pdu()}},
		{"v2c row 9 then row 10", gosnmp.Version2c, []string{ifDescr9.oid}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ifDescr10.pdu()}},
		{"v2c column 6 then column 10", gosnmp.Version2c, []string{ifPhysAddr9.oid}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ifInOctets9.pdu()}},
		{"v2c between objects", gosnmp.Version2c, []string{".1.3.6.1.2.1.2.2.1.2.9.5"}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ifDescr10.pdu()}},
		{"v2c a subtree", gosnmp.Version2c, []string{".1.3.6.1.2.1.2"}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ifDescr9.pdu()}},
		{"v2c several", gosnmp.Version2c, []string{sysUpTime.oid, ifInOctets9.oid, ".1.3.6.1.4.1.9"}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{ifDescr9.pdu(), ipAdEntAddr.pdu(), ciscoTemp1.pdu()}},
		{"v2c Counter64", gosnmp.Version2c, []string{ipAdEntAddr.oid}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ifHCInOctets9.pdu()}},
		{"v2c the last object", gosnmp.Version2c, []string{sysUpTime.oid, vendorLast.oid}, gosnmp.NoError, 0,
			[]gosnmp.SnmpPDU{ifDescr9.pdu(), exception(vendorLast.oid, gosnmp.EndOfMibView)}},
		{"v2c past the end", gosnmp.Version2c, []string{".2.1"}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{exception(".2.1", gosnmp.EndOfMibView)}},
		{"v1 an object", gosnmp.Version1, []string{ifInOctets9.oid}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ipAdEntAddr.pdu()}},
		{"v1 skips Counter64", gosnmp.Version1, []string{ipAdEntAddr.oid}, gosnmp.NoError, 0, []gosnmp.SnmpPDU{ciscoTemp1.pdu()}},
		{"v1 the last object", gosnmp.Version1, []string{sysDescr.oid, vendorLast.oid}, gosnmp.NoSuchName, 2,
			[]gosnmp.SnmpPDU{nameOnly(sysDescr.oid), nameOnly(vendorLast.oid)}},
	})
}

func TestSNMPAgentGetBulk(t *testing.T) {
	a := StartSNMPAgent(t, "")
	const ifEntry = ".1.3.6.1.2.1.2.2.1"
	obj := func(col, row int, typ gosnmp.Asn1BER, value, want any) agentObj {
		return agentObj{fmt.Sprintf("%s.%d.%d", ifEntry, col, row), typ, value, want}
	}
	var objs []agentObj
	objs = append(objs, sysUpTime)
	for row := 1; row <= 3; row++ {
		objs = append(objs, obj(1, row, gosnmp.Integer, row, row))
	}
	for row := 1; row <= 3; row++ {
		d := fmt.Sprintf("Gi0/%d", row)
		objs = append(objs, obj(2, row, gosnmp.OctetString, d, []byte(d)))
	}
	for row := 1; row <= 3; row++ {
		objs = append(objs, obj(8, row, gosnmp.Integer, 1+row%2, 1+row%2))
	}
	setAll(a, objs)
	pdu := func(col, row int) gosnmp.SnmpPDU {
		name := fmt.Sprintf("%s.%d.%d", ifEntry, col, row)
		for _, o := range objs {
			if o.oid == name {
				return o.pdu()
			}
		}
		t.Fatalf("no fixture object %s", name)
		return gosnmp.SnmpPDU{}
	}
	end := func(col, row int) gosnmp.SnmpPDU {
		return exception(fmt.Sprintf("%s.%d.%d", ifEntry, col, row), gosnmp.EndOfMibView)
	}
	tests := []struct {
		name           string
		oids           []string
		nonRepeaters   uint8
		maxRepetitions uint32
		want           []gosnmp.SnmpPDU
	}{
		{"a non-repeater and two columns", []string{".1.3.6.1.2.1.1.3", ifEntry + ".2", ifEntry + ".8"}, 1, 2,
			[]gosnmp.SnmpPDU{sysUpTime.pdu(), pdu(2, 1), pdu(8, 1), pdu(2, 2), pdu(8, 2)}},
		{"repetitions cross into the next column", []string{ifEntry + ".1"}, 0, 4,
			[]gosnmp.SnmpPDU{pdu(1, 1), pdu(1, 2), pdu(1, 3), pdu(2, 1)}},
		{"stops after every repeater reached the end", []string{ifEntry + ".8.2"}, 0, 4,
			[]gosnmp.SnmpPDU{pdu(8, 3), end(8, 3)}},
		{"a repeater at the end stays there", []string{ifEntry + ".2.3", ifEntry + ".8.2"}, 0, 3,
			[]gosnmp.SnmpPDU{pdu(8, 1), pdu(8, 3), pdu(8, 2), end(8, 3), pdu(8, 3), end(8, 3)}},
		{"more non-repeaters than varbinds", []string{".1.3.6.1.2.1.1.3.0", ifEntry + ".2.3"}, 5, 10,
			[]gosnmp.SnmpPDU{pdu(1, 1), pdu(8, 1)}},
		{"max-repetitions zero", []string{".1.3.6.1.2.1.1.3", ifEntry + ".2"}, 1, 0,
			[]gosnmp.SnmpPDU{sysUpTime.pdu()}},
		{"a non-repeater past the end", []string{ifEntry + ".8.3", ifEntry + ".2.2"}, 1, 1,
			[]gosnmp.SnmpPDU{end(8, 3), pdu(2, 3)}},
	}
	g := agentClient(t, a, gosnmp.Version2c, 5*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.GetBulk(tt.oids, tt.nonRepeaters, tt.maxRepetitions)
			if err != nil {
				t.Fatalf("getbulk: %v", err)
			}
			checkResponse(t, got, gosnmp.NoError, 0, tt.want)
		})
	}
}

func TestSNMPAgentGetBulkLimits(t *testing.T) {
	a := StartSNMPAgent(t, "")
	// 1,500 small objects, and 120 objects of 600 bytes: each of those is
	// a 618-byte varbind (OID 10 bytes, value 604, SEQUENCE header 4), so
	// a response has room for 105 of them under 65,000 bytes (106 would
	// take 65,508 bytes of varbinds alone), plus a small non-repeater.
	for i := 1; i <= 1500; i++ {
		a.Set(fmt.Sprintf(".1.3.6.1.4.1.8.%d", i), gosnmp.Integer, i)
	}
	big := strings.Repeat("x", 600)
	for i := 1; i <= 120; i++ {
		a.Set(fmt.Sprintf(".1.3.6.1.4.1.9.9.%d", i), gosnmp.OctetString, big)
	}
	// One object too big for any response.
	a.Set(".1.3.6.1.4.1.10.1", gosnmp.OctetString, strings.Repeat("y", 65000))
	tests := []struct {
		name           string
		oids           []string
		nonRepeaters   uint8
		maxRepetitions uint32
		wantErr        gosnmp.SNMPError
		wantCount      int
		wantFirst      string
		wantLast       string
	}{
		{"max-repetitions capped at 1000", []string{".1.3.6.1.4.1.8"}, 0, 2000, gosnmp.NoError, 1000, ".1.3.6.1.4.1.8.1", ".1.3.6.1.4.1.8.1000"},
		{"max-repetitions under the cap", []string{".1.3.6.1.4.1.8"}, 0, 999, gosnmp.NoError, 999, ".1.3.6.1.4.1.8.1", ".1.3.6.1.4.1.8.999"},
		{"repetitions dropped to stay under 65,000 bytes", []string{".1.3.6.1.4.1.9.9"}, 0, 1000, gosnmp.NoError, 105, ".1.3.6.1.4.1.9.9.1", ".1.3.6.1.4.1.9.9.105"},
		{"non-repeater kept, repetitions dropped", []string{".1.3.6.1.4.1.8.1499", ".1.3.6.1.4.1.9.9"}, 1, 1000, gosnmp.NoError, 106, ".1.3.6.1.4.1.8.1500", ".1.3.6.1.4.1.9.9.105"},
		{"whole repetitions dropped", []string{".1.3.6.1.4.1.9.9", ".1.3.6.1.4.1.9.9.60"}, 0, 1000, gosnmp.NoError, 104, ".1.3.6.1.4.1.9.9.1", ".1.3.6.1.4.1.9.9.112"},
		{"no repetition fits", []string{".1.3.6.1.4.1.8.1500", ".1.3.6.1.4.1.9.9.120"}, 1, 10, gosnmp.NoError, 1, ".1.3.6.1.4.1.9.9.1", ".1.3.6.1.4.1.9.9.1"},
		{"no non-repeater fits", []string{".1.3.6.1.4.1.8.1500", ".1.3.6.1.4.1.9.9.120", ".1.3.6.1.4.1.8"}, 2, 10, gosnmp.NoError, 1, ".1.3.6.1.4.1.9.9.1", ".1.3.6.1.4.1.9.9.1"},
		{"nothing fits", []string{".1.3.6.1.4.1.9.9.120"}, 0, 10, gosnmp.NoError, 0, "", ""},
	}
	g := agentClient(t, a, gosnmp.Version2c, 5*time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := g.GetBulk(tt.oids, tt.nonRepeaters, tt.maxRepetitions)
			if err != nil {
				t.Fatalf("getbulk: %v", err)
			}
			if got.Error != tt.wantErr || len(got.Variables) != tt.wantCount {
				t.Fatalf("error %v with %d varbinds, want %v with %d", got.Error, len(got.Variables), tt.wantErr, tt.wantCount)
			}
			if tt.wantCount == 0 {
				return
			}
			if first, last := got.Variables[0].Name, got.Variables[len(got.Variables)-1].Name; first != tt.wantFirst || last != tt.wantLast {
				t.Errorf("varbinds %s..%s, want %s..%s", first, last, tt.wantFirst, tt.wantLast)
			}
		})
	}
	// Get and GetNext of an object too big to send are tooBig, with no varbinds.
	for _, tt := range []struct {
		name string
		op   func([]string) (*gosnmp.SnmpPacket, error)
		oid  string
	}{
		{"get", g.Get, ".1.3.6.1.4.1.10.1"},
		{"getnext", g.GetNext, ".1.3.6.1.4.1.10"},
	} {
		t.Run(tt.name+" tooBig", func(t *testing.T) {
			got, err := tt.op([]string{tt.oid})
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			checkResponse(t, got, gosnmp.TooBig, 0, nil)
		})
	}
}

// dialAgent is a UDP socket connected to a, closed when the test ends.
func dialAgent(t *testing.T, a *SNMPAgent) net.Conn {
	t.Helper()
	conn, err := net.Dial("udp", a.Addr)
	if err != nil {
		t.Fatalf("dial %s: %v", a.Addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// encodeRequest is req as a datagram.
func encodeRequest(t *testing.T, req *gosnmp.SnmpPacket) []byte {
	t.Helper()
	out, err := req.MarshalMsg()
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}
	return out
}

// rawExchange sends req on conn and returns the first datagram back, decoded.
func rawExchange(t *testing.T, conn net.Conn, req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
	t.Helper()
	if _, err := conn.Write(encodeRequest(t, req)); err != nil {
		t.Fatalf("send request: %v", err)
	}
	buf := make([]byte, 65535)
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("set deadline: %v", err)
	}
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	resp, err := (&gosnmp.GoSNMP{}).SnmpDecodePacket(buf[:n])
	if err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp
}

func TestSNMPAgentResponseHeader(t *testing.T) {
	a := StartSNMPAgent(t, "s3cret")
	a.Set(sysDescr.oid, sysDescr.typ, sysDescr.value)
	conn := dialAgent(t, a)
	req := func(v gosnmp.SnmpVersion, typ gosnmp.PDUType, id uint32, oid string) *gosnmp.SnmpPacket {
		return &gosnmp.SnmpPacket{Version: v, Community: "s3cret", PDUType: typ, RequestID: id, MaxRepetitions: 1,
			Variables: []gosnmp.SnmpPDU{nameOnly(oid)}}
	}
	tests := []struct {
		name string
		req  *gosnmp.SnmpPacket
		want []gosnmp.SnmpPDU
	}{
		{"v1 get", req(gosnmp.Version1, gosnmp.GetRequest, 1, sysDescr.oid), []gosnmp.SnmpPDU{sysDescr.pdu()}},
		{"v1 getnext", req(gosnmp.Version1, gosnmp.GetNextRequest, 0x7fffffff, ".1.3"), []gosnmp.SnmpPDU{sysDescr.pdu()}},
		{"v2c get", req(gosnmp.Version2c, gosnmp.GetRequest, 0, sysDescr.oid), []gosnmp.SnmpPDU{sysDescr.pdu()}},
		{"v2c getnext", req(gosnmp.Version2c, gosnmp.GetNextRequest, 128, ".1.3"), []gosnmp.SnmpPDU{sysDescr.pdu()}},
		{"v2c getbulk", req(gosnmp.Version2c, gosnmp.GetBulkRequest, 123456789, ".1.3"), []gosnmp.SnmpPDU{sysDescr.pdu()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawExchange(t, conn, tt.req)
			if got.Version != tt.req.Version || got.Community != "s3cret" || got.PDUType != gosnmp.GetResponse || got.RequestID != tt.req.RequestID {
				t.Errorf("response version %v community %q PDU %v request-id %d, want %v %q %v %d",
					got.Version, got.Community, got.PDUType, got.RequestID, tt.req.Version, "s3cret", gosnmp.GetResponse, tt.req.RequestID)
			}
			checkResponse(t, got, gosnmp.NoError, 0, tt.want)
		})
	}
}

func TestSNMPAgentDropsSilently(t *testing.T) {
	a := StartSNMPAgent(t, "s3cret")
	a.Set(sysDescr.oid, sysDescr.typ, sysDescr.value)
	conn := dialAgent(t, a)
	vb := []gosnmp.SnmpPDU{nameOnly(sysDescr.oid)}
	// Each datagram is followed by a valid request: the agent answers in
	// order, so the first response being the probe's proves the datagram
	// got none.
	tests := []struct {
		name     string
		datagram []byte
	}{
		{"wrong community v2c", encodeRequest(t, &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetRequest, RequestID: 7, Variables: vb})},
		{"wrong community v1", encodeRequest(t, &gosnmp.SnmpPacket{Version: gosnmp.Version1, Community: "S3CRET", PDUType: gosnmp.GetRequest, RequestID: 7, Variables: vb})},
		{"getbulk in v1", encodeRequest(t, &gosnmp.SnmpPacket{Version: gosnmp.Version1, Community: "s3cret", PDUType: gosnmp.GetBulkRequest, RequestID: 7, MaxRepetitions: 5, Variables: vb})},
		{"a response", encodeRequest(t, &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "s3cret", PDUType: gosnmp.GetResponse, RequestID: 7, Variables: vb})},
		{"version 3", []byte{0x30, 0x0e, 0x02, 0x01, 0x03, 0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x04, 0x01, 0x04}},
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"truncated", encodeRequest(t, &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "s3cret", PDUType: gosnmp.GetRequest, RequestID: 7, Variables: vb})[:20]},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.Requests()
			if _, err := conn.Write(tt.datagram); err != nil {
				t.Fatalf("send: %v", err)
			}
			probe := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "s3cret", PDUType: gosnmp.GetRequest, RequestID: uint32(1000 + i), Variables: vb}
			if got := rawExchange(t, conn, probe); got.RequestID != probe.RequestID {
				t.Errorf("first response has request-id %d, want the probe's %d", got.RequestID, probe.RequestID)
			}
			if got := a.Requests() - before; got != 2 {
				t.Errorf("Requests() grew by %d, want 2", got)
			}
		})
	}
}

func TestSNMPAgentUnanswered(t *testing.T) {
	a := StartSNMPAgent(t, "s3cret")
	a.Set(sysDescr.oid, sysDescr.typ, sysDescr.value)
	tests := []struct {
		name  string
		setup func(g *gosnmp.GoSNMP)
		mute  bool
	}{
		{"wrong community v2c", func(g *gosnmp.GoSNMP) { g.Community = "public" }, false},
		{"wrong community v1", func(g *gosnmp.GoSNMP) { g.Version, g.Community = gosnmp.Version1, "public" }, false},
		{"v3", func(g *gosnmp.GoSNMP) {
			g.Version, g.SecurityModel, g.MsgFlags = gosnmp.Version3, gosnmp.UserSecurityModel, gosnmp.NoAuthNoPriv
			g.SecurityParameters = &gosnmp.UsmSecurityParameters{UserName: "s3cret"}
		}, false},
		{"muted v2c", func(*gosnmp.GoSNMP) {}, true},
		{"muted v1", func(g *gosnmp.GoSNMP) { g.Version = gosnmp.Version1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.SetMute(tt.mute)
			defer a.SetMute(false)
			g := agentClient(t, a, gosnmp.Version2c, 200*time.Millisecond)
			tt.setup(g)
			before := a.Requests()
			_, err := g.Get([]string{sysDescr.oid})
			if !errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || err.Error() != "request timeout (after 0 retries): max retries exceeded" {
				t.Errorf("get: %v, want a timeout", err)
			}
			if got := a.Requests() - before; got != 1 {
				t.Errorf("Requests() grew by %d, want 1", got)
			}
		})
	}
	// Unmuted, the same agent answers.
	got, err := agentClient(t, a, gosnmp.Version2c, 5*time.Second).Get([]string{sysDescr.oid})
	if err != nil {
		t.Fatalf("get after unmute: %v", err)
	}
	checkResponse(t, got, gosnmp.NoError, 0, []gosnmp.SnmpPDU{sysDescr.pdu()})
}

func TestSNMPAgentRefusesSet(t *testing.T) {
	a := StartSNMPAgent(t, "")
	a.Set(sysDescr.oid, sysDescr.typ, sysDescr.value)
	vb := gosnmp.SnmpPDU{Name: sysDescr.oid, Type: gosnmp.OctetString, Value: "changed"}
	tests := []struct {
		version gosnmp.SnmpVersion
		wantErr gosnmp.SNMPError
	}{
		{gosnmp.Version1, gosnmp.NoSuchName},
		{gosnmp.Version2c, gosnmp.NoAccess},
	}
	for _, tt := range tests {
		t.Run(tt.version.String(), func(t *testing.T) {
			got, err := agentClient(t, a, tt.version, 5*time.Second).Set([]gosnmp.SnmpPDU{vb})
			if err != nil {
				t.Fatalf("set: %v", err)
			}
			checkResponse(t, got, tt.wantErr, 1, []gosnmp.SnmpPDU{{Name: sysDescr.oid, Type: gosnmp.OctetString, Value: []byte("changed")}})
			// The object is unchanged.
			got, err = agentClient(t, a, tt.version, 5*time.Second).Get([]string{sysDescr.oid})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			checkResponse(t, got, gosnmp.NoError, 0, []gosnmp.SnmpPDU{sysDescr.pdu()})
		})
	}
}

func TestSNMPAgentValues(t *testing.T) {
	type myInt int
	tests := []struct {
		name  string
		typ   gosnmp.Asn1BER
		value any
		want  any
	}{
		{"Counter64 max", gosnmp.Counter64, uint64(18446744073709551615), uint64(18446744073709551615)},
		{"Counter64 2^63", gosnmp.Counter64, uint64(1) << 63, uint64(1) << 63},
		{"Counter64 2^63-1", gosnmp.Counter64, uint64(1)<<63 - 1, uint64(1)<<63 - 1},
		{"Counter64 zero", gosnmp.Counter64, 0, uint64(0)},
		{"Counter64 from uint", gosnmp.Counter64, uint(5), uint64(5)},
		{"Counter32 max", gosnmp.Counter32, uint32(4294967295), uint(4294967295)},
		{"Counter32 from int", gosnmp.Counter32, 7, uint(7)},
		{"Gauge32 from uint", gosnmp.Gauge32, uint(100000), uint(100000)},
		{"TimeTicks", gosnmp.TimeTicks, uint32(8640000), uint32(8640000)},
		{"Integer min", gosnmp.Integer, -2147483648, -2147483648},
		{"Integer max", gosnmp.Integer, int64(2147483647), 2147483647},
		{"Integer from a named type", gosnmp.Integer, myInt(2), 2},
		{"Integer from uint8", gosnmp.Integer, uint8(200), 200},
		{"OctetString empty", gosnmp.OctetString, "", []byte{}},
		{"OctetString MAC", gosnmp.OctetString, []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}, []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}},
		{"OctetString UTF-8", gosnmp.OctetString, "Küche", []byte("Küche")},
		{"IPAddress string", gosnmp.IPAddress, "192.0.2.1", "192.0.2.1"},
		{"IPAddress bytes", gosnmp.IPAddress, []byte{198, 51, 100, 7}, "198.51.100.7"},
		{"IPAddress net.IP", gosnmp.IPAddress, net.ParseIP("203.0.113.9"), "203.0.113.9"},
		{"ObjectIdentifier", gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.2021.250.10", ".1.3.6.1.4.1.2021.250.10"},
		{"Null", gosnmp.Null, nil, nil},
	}
	a := StartSNMPAgent(t, "")
	g := agentClient(t, a, gosnmp.Version2c, 5*time.Second)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oid := fmt.Sprintf(".1.3.6.1.4.1.99999.2.%d", i)
			a.Set(oid, tt.typ, tt.value)
			got, err := g.Get([]string{oid})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			wantValue := tt.want
			if tt.typ == gosnmp.OctetString && len(tt.want.([]byte)) == 0 {
				// gosnmp decodes an empty OCTET STRING as an empty slice
				// of the packet, not a fresh one.
				wantValue = got.Variables[0].Value
				if b, ok := wantValue.([]byte); !ok || len(b) != 0 {
					t.Fatalf("empty OctetString decoded as %#v", wantValue)
				}
			}
			checkResponse(t, got, gosnmp.NoError, 0, []gosnmp.SnmpPDU{{Name: oid, Type: tt.typ, Value: wantValue}})
		})
	}
	// Set copies []byte values: changing the caller's slice changes nothing.
	mac := []byte{1, 2, 3, 4, 5, 6}
	a.Set(".1.3.6.1.4.1.99999.3.0", gosnmp.OctetString, mac)
	mac[0] = 0xff
	got, err := g.Get([]string{".1.3.6.1.4.1.99999.3.0"})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	checkResponse(t, got, gosnmp.NoError, 0, []gosnmp.SnmpPDU{{Name: ".1.3.6.1.4.1.99999.3.0", Type: gosnmp.OctetString, Value: []byte{1, 2, 3, 4, 5, 6}}})
}

// fatalRecorder is a testing.TB whose Fatalf records the message, to test
// how Set and Delete fail a test.
type fatalRecorder struct {
	testing.TB
	msgs []string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func TestSNMPAgentSetRejects(t *testing.T) {
	tests := []struct {
		oid   string
		typ   gosnmp.Asn1BER
		value any
		want  string
	}{
		{"", gosnmp.Integer, 1, `snmp agent: set : OID "" is empty`},
		{".", gosnmp.Integer, 1, `snmp agent: set .: OID "." is empty`},
		{"1", gosnmp.Integer, 1, `snmp agent: set 1: OID "1" has fewer than two arcs`},
		{"1.3.6.x", gosnmp.Integer, 1, `snmp agent: set 1.3.6.x: OID "1.3.6.x": arc "x" is not a number in 0..4294967295`},
		{"1.3..6", gosnmp.Integer, 1, `snmp agent: set 1.3..6: OID "1.3..6": arc "" is not a number in 0..4294967295`},
		{"1.3.6.4294967296", gosnmp.Integer, 1, `snmp agent: set 1.3.6.4294967296: OID "1.3.6.4294967296": arc "4294967296" is not a number in 0..4294967295`},
		{"1.3.6.-1", gosnmp.Integer, 1, `snmp agent: set 1.3.6.-1: OID "1.3.6.-1": arc "-1" is not a number in 0..4294967295`},
		{"3.1", gosnmp.Integer, 1, `snmp agent: set 3.1: Integer value 1: encode snmp packet: marshalPDU: unable to marshal varbind list: unable to marshal OID: Invalid object identifier`},
		{"1.3.6", gosnmp.Integer, "1", `snmp agent: set 1.3.6: Integer value "1": want an integer in the Integer32 range`},
		{"1.3.6", gosnmp.Integer, 1 << 31, `snmp agent: set 1.3.6: Integer value 2147483648: want an integer in the Integer32 range`},
		{"1.3.6", gosnmp.Integer, uint64(1) << 63, `snmp agent: set 1.3.6: Integer value 0x8000000000000000: want an integer in the Integer32 range`},
		{"1.3.6", gosnmp.Counter32, -1, `snmp agent: set 1.3.6: Counter32 value -1: want an integer in 0..4294967295`},
		{"1.3.6", gosnmp.Gauge32, 1 << 32, `snmp agent: set 1.3.6: Gauge32 value 4294967296: want an integer in 0..4294967295`},
		{"1.3.6", gosnmp.Counter64, -1, `snmp agent: set 1.3.6: Counter64 value -1: want a non-negative integer`},
		{"1.3.6", gosnmp.Counter64, 1.5, `snmp agent: set 1.3.6: Counter64 value 1.5: want a non-negative integer`},
		{"1.3.6", gosnmp.OctetString, 5, `snmp agent: set 1.3.6: OctetString value 5: want a string or []byte`},
		{"1.3.6", gosnmp.ObjectIdentifier, "iso.3", `snmp agent: set 1.3.6: ObjectIdentifier value "iso.3": OID "iso.3": arc "iso" is not a number in 0..4294967295`},
		{"1.3.6", gosnmp.IPAddress, "::1", `snmp agent: set 1.3.6: IPAddress value "::1": want an IPv4 address (string, 4-byte []byte or net.IP)`},
		{"1.3.6", gosnmp.IPAddress, "10.0.0", `snmp agent: set 1.3.6: IPAddress value "10.0.0": want an IPv4 address (string, 4-byte []byte or net.IP)`},
		{"1.3.6", gosnmp.IPAddress, []byte{10, 0, 0}, `snmp agent: set 1.3.6: IPAddress value []byte{0xa, 0x0, 0x0}: want an IPv4 address (string, 4-byte []byte or net.IP)`},
		{"1.3.6", gosnmp.Null, 0, `snmp agent: set 1.3.6: Null value 0: want nil`},
		{"1.3.6", gosnmp.OpaqueFloat, 1.5, `snmp agent: set 1.3.6: OpaqueFloat value 1.5: encode snmp packet: marshalPDU: unable to marshal varbind list: error converting PDU value type 1.5 to OpaqueFloat: marshalFloat32: expected float32, got float64`},
		{"1.3.6", gosnmp.NoSuchObject, nil, `snmp agent: set 1.3.6: NoSuchObject value <nil>: not a type an agent serves`},
		{"1.3.6", gosnmp.EndOfMibView, nil, `snmp agent: set 1.3.6: EndOfMibView value <nil>: not a type an agent serves`},
	}
	for _, tt := range tests {
		t.Run(tt.oid+" "+tt.typ.String(), func(t *testing.T) {
			rec := &fatalRecorder{}
			a := &SNMPAgent{t: rec}
			a.Set(tt.oid, tt.typ, tt.value)
			if len(rec.msgs) != 1 || rec.msgs[0] != tt.want {
				t.Errorf("Fatalf calls %q, want [%q]", rec.msgs, tt.want)
			}
			if len(a.objs) != 0 {
				t.Errorf("agent holds %d objects after a rejected Set", len(a.objs))
			}
		})
	}
	t.Run("Delete", func(t *testing.T) {
		rec := &fatalRecorder{}
		a := &SNMPAgent{t: rec}
		a.Delete("1.3.six")
		if want := `snmp agent: delete 1.3.six: OID "1.3.six": arc "six" is not a number in 0..4294967295`; len(rec.msgs) != 1 || rec.msgs[0] != want {
			t.Errorf("Fatalf calls %q, want [%q]", rec.msgs, want)
		}
	})
}

// ifEntry column types of the IF-MIB ifTable (columns 1..20), and the
// value a test agent serves for each row.
func ifObject(col, row int) agentObj {
	oid := fmt.Sprintf(".1.3.6.1.2.1.2.2.1.%d.%d", col, row)
	switch col {
	case 1: // ifIndex
		return agentObj{oid, gosnmp.Integer, row, row}
	case 2: // ifDescr
		d := fmt.Sprintf("GigabitEthernet0/%d", row)
		return agentObj{oid, gosnmp.OctetString, d, []byte(d)}
	case 3: // ifType ethernetCsmacd
		return agentObj{oid, gosnmp.Integer, 6, 6}
	case 4: // ifMtu
		return agentObj{oid, gosnmp.Integer, 1500, 1500}
	case 5: // ifSpeed
		return agentObj{oid, gosnmp.Gauge32, uint32(1000000000), uint(1000000000)}
	case 6: // ifPhysAddress
		mac := []byte{0x00, 0x1b, 0x54, 0x00, 0x00, byte(row)}
		return agentObj{oid, gosnmp.OctetString, mac, mac}
	case 7: // ifAdminStatus up
		return agentObj{oid, gosnmp.Integer, 1, 1}
	case 8: // ifOperStatus: every fifth interface is down
		s := 1
		if row%5 == 0 {
			s = 2
		}
		return agentObj{oid, gosnmp.Integer, s, s}
	case 9: // ifLastChange
		return agentObj{oid, gosnmp.TimeTicks, uint32(row * 100), uint32(row * 100)}
	}
	// ifInOctets .. ifOutErrors
	v := uint32(col*1000000 + row)
	return agentObj{oid, gosnmp.Counter32, v, uint(v)}
}

const ifTableOID = ".1.3.6.1.2.1.2.2"

// setIfTable gives a an ifTable of rows interfaces with 20 columns, and
// returns its objects in OID order.
func setIfTable(a *SNMPAgent, rows int) []agentObj {
	var objs []agentObj
	for col := 1; col <= 20; col++ {
		for row := 1; row <= rows; row++ {
			objs = append(objs, ifObject(col, row))
		}
	}
	setAll(a, objs)
	return objs
}

func pdus(objs []agentObj) []gosnmp.SnmpPDU {
	out := make([]gosnmp.SnmpPDU, len(objs))
	for i, o := range objs {
		out[i] = o.pdu()
	}
	return out
}

func TestSNMPAgentWalk(t *testing.T) {
	a := StartSNMPAgent(t, "")
	want := pdus(setIfTable(a, 48))
	a.Set(sysUpTime.oid, sysUpTime.typ, sysUpTime.value)             // before the table
	a.Set(ifHCInOctets9.oid, ifHCInOctets9.typ, ifHCInOctets9.value) // after it
	tests := []struct {
		name    string
		version gosnmp.SnmpVersion
		bulk    bool
		maxReps uint32
	}{
		{"v2c bulk default", gosnmp.Version2c, true, 0},
		{"v2c bulk 7", gosnmp.Version2c, true, 7},
		{"v2c bulk 1000", gosnmp.Version2c, true, 1000},
		{"v2c getnext", gosnmp.Version2c, false, 0},
		{"v1 getnext", gosnmp.Version1, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := agentClient(t, a, tt.version, 5*time.Second)
			g.MaxRepetitions = tt.maxReps
			walk := g.WalkAll
			if tt.bulk {
				walk = g.BulkWalkAll
			}
			got, err := walk(ifTableOID)
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("walk returned %d objects, want %d; first %v, last %v", len(got), len(want), got[:min(1, len(got))], got[max(0, len(got)-1):])
			}
		})
	}
}

func TestSNMPAgentChangesBetweenPolls(t *testing.T) {
	a := StartSNMPAgent(t, "")
	const entry = ".1.3.6.1.2.1.2.2.1"
	descr := func(row int) agentObj {
		d := fmt.Sprintf("Gi0/%d", row)
		return agentObj{fmt.Sprintf("%s.2.%d", entry, row), gosnmp.OctetString, d, []byte(d)}
	}
	oper := func(row, status int) agentObj {
		return agentObj{fmt.Sprintf("%s.8.%d", entry, row), gosnmp.Integer, status, status}
	}
	inOctets := func(row int, v uint32) agentObj {
		return agentObj{fmt.Sprintf("%s.10.%d", entry, row), gosnmp.Counter32, v, uint(v)}
	}
	upTime := func(ticks uint32) agentObj {
		return agentObj{sysUpTime.oid, gosnmp.TimeTicks, ticks, ticks}
	}
	// dot1dTpFdbPort.<MAC 00:1b:54:aa:bb:cc>: the bridge port the MAC was learned on.
	fdbPort := func(port int) agentObj {
		return agentObj{".1.3.6.1.2.1.17.4.3.1.2.0.27.84.170.187.204", gosnmp.Integer, port, port}
	}
	cpu := agentObj{".1.3.6.1.4.1.9.9.109.1.1.1.1.8.1", gosnmp.Gauge32, 12, uint(12)} // cpmCPUTotal5minRev.1
	set := func(objs ...agentObj) func() {
		return func() {
			for _, o := range objs {
				a.Set(o.oid, o.typ, o.value)
			}
		}
	}
	del := func(oids ...string) func() {
		return func() {
			for _, oid := range oids {
				a.Delete(oid)
			}
		}
	}
	steps := []struct {
		name   string
		change func()
		want   []agentObj // the whole MIB afterwards, in OID order
	}{
		{"initial", set(upTime(500), descr(1), descr(2), descr(3), oper(1, 1), oper(2, 1), oper(3, 1),
			inOctets(1, 4294967000), inOctets(2, 10), inOctets(3, 20), fdbPort(3)),
			[]agentObj{upTime(500), descr(1), descr(2), descr(3), oper(1, 1), oper(2, 1), oper(3, 1),
				inOctets(1, 4294967000), inOctets(2, 10), inOctets(3, 20), fdbPort(3)}},
		{"interface 2 goes down", set(oper(2, 2)),
			[]agentObj{upTime(500), descr(1), descr(2), descr(3), oper(1, 1), oper(2, 2), oper(3, 1),
				inOctets(1, 4294967000), inOctets(2, 10), inOctets(3, 20), fdbPort(3)}},
		{"counter wraps", set(upTime(600), inOctets(1, 704)),
			[]agentObj{upTime(600), descr(1), descr(2), descr(3), oper(1, 1), oper(2, 2), oper(3, 1),
				inOctets(1, 704), inOctets(2, 10), inOctets(3, 20), fdbPort(3)}},
		{"MAC moves to port 7", set(fdbPort(7)),
			[]agentObj{upTime(600), descr(1), descr(2), descr(3), oper(1, 1), oper(2, 2), oper(3, 1),
				inOctets(1, 704), inOctets(2, 10), inOctets(3, 20), fdbPort(7)}},
		{"row 2 disappears", del(descr(2).oid, oper(2, 0).oid, inOctets(2, 0).oid),
			[]agentObj{upTime(600), descr(1), descr(3), oper(1, 1), oper(3, 1),
				inOctets(1, 704), inOctets(3, 20), fdbPort(7)}},
		{"device reboots", func() { set(upTime(42), inOctets(1, 0), inOctets(3, 0))() },
			[]agentObj{upTime(42), descr(1), descr(3), oper(1, 1), oper(3, 1),
				inOctets(1, 0), inOctets(3, 0), fdbPort(7)}},
		{"vendor OID appears", set(cpu),
			[]agentObj{upTime(42), descr(1), descr(3), oper(1, 1), oper(3, 1),
				inOctets(1, 0), inOctets(3, 0), fdbPort(7), cpu}},
		{"ifTable disappears", del(ifTableOID),
			[]agentObj{upTime(42), fdbPort(7), cpu}},
		{"deleting what is not there", del(ifTableOID, ".1.3.6.1.2.1.99", ".1.3.6.1.4.1.9.9.109.1.1.1.1.8.1.0"),
			[]agentObj{upTime(42), fdbPort(7), cpu}},
		{"everything disappears", del(".1"), nil},
	}
	g := agentClient(t, a, gosnmp.Version2c, 5*time.Second)
	for _, st := range steps {
		st.change()
		got, err := g.BulkWalkAll(".1.3.6.1")
		if err != nil {
			t.Fatalf("%s: walk: %v", st.name, err)
		}
		if want := pdus(st.want); !(len(got) == 0 && len(want) == 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: walk:\n got %s\nwant %s", st.name, formatPDUs(got), formatPDUs(want))
		}
	}
	// A deleted row of a remaining column is a missing instance; a deleted
	// table is a missing object.
	a.Set(descr(1).oid, gosnmp.OctetString, "Gi0/1")
	got, err := g.Get([]string{descr(1).oid, descr(2).oid, oper(2, 0).oid})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	checkResponse(t, got, gosnmp.NoError, 0, []gosnmp.SnmpPDU{descr(1).pdu(),
		exception(descr(2).oid, gosnmp.NoSuchInstance), exception(oper(2, 0).oid, gosnmp.NoSuchObject)})
}

func TestSNMPAgentConcurrent(t *testing.T) {
	a := StartSNMPAgent(t, "")
	const rows, pollers, walks = 48, 16, 5
	setIfTable(a, rows)
	clients := make([]*gosnmp.GoSNMP, pollers)
	for i := range clients {
		clients[i] = agentClient(t, a, gosnmp.Version2c, 10*time.Second)
	}
	// ifInOctets.row (column 10) holds generation*100 + row while the
	// test rewrites it; row 48 keeps disappearing and coming back.
	inOctets := func(row, gen int) (string, uint32) {
		return fmt.Sprintf(".1.3.6.1.2.1.2.2.1.10.%d", row), uint32(gen*100 + row)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var gens int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for gen := 1; ; gen++ {
			select {
			case <-stop:
				gens = gen - 1
				return
			default:
			}
			for row := 1; row <= rows; row++ {
				oid, v := inOctets(row, gen)
				a.Set(oid, gosnmp.Counter32, v)
			}
			for col := 1; col <= 20; col++ {
				a.Delete(fmt.Sprintf(".1.3.6.1.2.1.2.2.1.%d.%d", col, rows))
			}
			for col := 1; col <= 20; col++ {
				o := ifObject(col, rows)
				if col == 10 {
					o.value = uint32(gen*100 + rows)
				}
				a.Set(o.oid, o.typ, o.value)
			}
		}
	}()
	var pollWG sync.WaitGroup
	for _, g := range clients {
		pollWG.Add(1)
		go func() {
			defer pollWG.Done()
			for range walks {
				got, err := g.BulkWalkAll(ifTableOID)
				if err != nil {
					t.Errorf("walk: %v", err)
					return
				}
				if len(got) < 20*(rows-1) || len(got) > 20*rows {
					t.Errorf("walk returned %d objects, want %d to %d", len(got), 20*(rows-1), 20*rows)
				}
				for _, p := range got {
					var col, row int
					if _, err := fmt.Sscanf(p.Name, ".1.3.6.1.2.1.2.2.1.%d.%d", &col, &row); err != nil {
						t.Errorf("walk returned %s: %v", p.Name, err)
						return
					}
					if col == 10 {
						if v, ok := p.Value.(uint); !ok || int(v)%100 != row {
							t.Errorf("%s = %#v, want generation*100+%d", p.Name, p.Value, row)
						}
						continue
					}
					if want := ifObject(col, row).pdu(); !reflect.DeepEqual(p, want) {
						t.Errorf("walk returned %v, want %v", p, want)
					}
				}
			}
		}()
	}
	pollWG.Wait()
	close(stop)
	wg.Wait()
	// Once the writes stop, a walk sees exactly the last generation.
	var want []gosnmp.SnmpPDU
	for col := 1; col <= 20; col++ {
		for row := 1; row <= rows; row++ {
			p := ifObject(col, row).pdu()
			if col == 10 {
				_, v := inOctets(row, gens)
				p.Value = uint(v)
			}
			want = append(want, p)
		}
	}
	got, err := clients[0].BulkWalkAll(ifTableOID)
	if err != nil {
		t.Fatalf("final walk: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("final walk after %d generations differs: got %d objects, want %d", gens, len(got), len(want))
	}
}

func TestSNMPAgentStopsOnCleanup(t *testing.T) {
	var a *SNMPAgent
	t.Run("agent", func(t *testing.T) {
		a = StartSNMPAgent(t, "")
		a.Set(sysDescr.oid, sysDescr.typ, sysDescr.value)
		got, err := agentClient(t, a, gosnmp.Version2c, 5*time.Second).Get([]string{sysDescr.oid})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		checkResponse(t, got, gosnmp.NoError, 0, []gosnmp.SnmpPDU{sysDescr.pdu()})
		// Leave the read loop busy when the test ends: it has read a
		// request and waits for the MIB lock, which is released only after
		// the agent's cleanup has started. The cleanup must wait for it.
		a.mu.Lock()
		conn, err := net.Dial("udp", a.Addr)
		if err != nil {
			a.mu.Unlock()
			t.Fatalf("dial: %v", err)
		}
		defer conn.Close()
		out, err := (&gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetRequest,
			RequestID: 1, Variables: []gosnmp.SnmpPDU{nameOnly(sysDescr.oid)}}).MarshalMsg()
		if err == nil {
			_, err = conn.Write(out)
		}
		if err != nil {
			a.mu.Unlock()
			t.Fatalf("send: %v", err)
		}
		for deadline := time.Now().Add(5 * time.Second); a.Requests() < 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				a.mu.Unlock()
				t.Fatal("the agent did not read the request")
			}
		}
		// Cleanups run last-in first-out: this one runs before the agent's.
		t.Cleanup(func() {
			go func() {
				time.Sleep(20 * time.Millisecond)
				a.mu.Unlock()
			}()
		})
	})
	// The subtest's cleanup has returned: the read loop must have exited
	// and the port must be free again.
	select {
	case <-a.done:
	default:
		t.Fatal("the read loop is still running after cleanup returned")
	}
	c, err := net.ListenPacket("udp4", a.Addr)
	if err != nil {
		t.Fatalf("the agent's port is still bound after cleanup: %v", err)
	}
	_ = c.Close()
	a.stop() // a second stop returns too
}

// BenchmarkSNMPAgentBulkWalk walks a 48-interface ifTable (20 columns, 960
// objects) with gosnmp's BulkWalkAll, as an SNMP interface monitor does.
func BenchmarkSNMPAgentBulkWalk(b *testing.B) {
	a := StartSNMPAgent(b, "")
	setIfTable(a, 48)
	g := agentClient(b, a, gosnmp.Version2c, 5*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		got, err := g.BulkWalkAll(ifTableOID)
		if err != nil {
			b.Fatalf("walk: %v", err)
		}
		if len(got) != 960 {
			b.Fatalf("walk returned %d objects, want 960", len(got))
		}
	}
}
