package hostfuncs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// OIDs used throughout.
const (
	oidSystem      = ".1.3.6.1.2.1.1"
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysContact  = ".1.3.6.1.2.1.1.4.0"
	oidSysName     = ".1.3.6.1.2.1.1.5.0"
	oidSysLocation = ".1.3.6.1.2.1.1.6.0"
	oidIfTable     = ".1.3.6.1.2.1.2.2"
	oidIfDescr     = ".1.3.6.1.2.1.2.2.1.2"
	oidIfType      = ".1.3.6.1.2.1.2.2.1.3"
	oidIfPhys      = ".1.3.6.1.2.1.2.2.1.6"
	oidIfHCIn      = ".1.3.6.1.2.1.31.1.1.1.6"
	oidTestTable   = ".1.3.6.1.4.1.99999"
)

// snmpTestTable is served by the test agent through pass_persist, so that
// every value type can be checked against exact values.
var snmpTestTable = testutil.SNMPTable{Root: oidTestTable, Objects: []testutil.SNMPObject{
	{OID: oidTestTable + ".1.1", Type: "counter64", Value: "18446744073709551615"},
	{OID: oidTestTable + ".1.2", Type: "counter64", Value: "9007199254740993"}, // 2^53+1: not exact as a float64
	{OID: oidTestTable + ".1.3", Type: "octet", Value: "18 E8 29 45 F8 F7"},
	{OID: oidTestTable + ".1.4", Type: "string", Value: "héllo wörld"},
	{OID: oidTestTable + ".1.5", Type: "ipaddress", Value: "10.1.2.3"},
	{OID: oidTestTable + ".1.6", Type: "objectid", Value: ".1.3.6.1.4.1.8072"},
	{OID: oidTestTable + ".1.7", Type: "opaque", Value: "01 02 FF"},
	{OID: oidTestTable + ".1.8", Type: "unsigned", Value: "4294967295"},
	{OID: oidTestTable + ".1.9", Type: "integer", Value: "-2147483648"},
	{OID: oidTestTable + ".1.10", Type: "timeticks", Value: "4294967295"},
	{OID: oidTestTable + ".1.11", Type: "counter", Value: "4294967295"},
	{OID: oidTestTable + ".1.12", Type: "octet", Value: "61 62 00"}, // "ab\x00": not printable
	{OID: oidTestTable + ".1.13", Type: "string", Value: ""},
}}

func startSNMPD(t testing.TB) *testutil.SNMPD {
	t.Helper()
	return testutil.StartSNMPD(t, testutil.SNMPDOptions{
		SysName:     "zappy-unit",
		SysLocation: "rack 7, loopback",
		Tables:      []testutil.SNMPTable{snmpTestTable},
	})
}

// snmpV3Req fills in the credentials of a test agent user.
func snmpV3Req(d *testutil.SNMPD, u testutil.SNMPUser) SNMPRequest {
	return SNMPRequest{Address: d.Addr, Version: "3", Username: u.Name,
		AuthProtocol: u.AuthProtocol, AuthPassphrase: u.AuthPass, PrivProtocol: u.PrivProtocol, PrivPassphrase: u.PrivPass}
}

func snmpDo(t testing.TB, req SNMPRequest) SNMPResponse {
	t.Helper()
	resp, err := SNMP(context.Background(), req)
	if err != nil {
		t.Fatalf("SNMP(%s %v): %v", req.Op, req.OIDs, err)
	}
	return resp
}

func snmpWantErr(t *testing.T, err error, code Code, msg string) *Error {
	t.Helper()
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("err = %v (%T), want *Error with code %s", err, err, code)
	}
	if ze.Code != code {
		t.Fatalf("code = %s (%s), want %s", ze.Code, ze.Message, code)
	}
	if msg != "" && ze.Message != msg {
		t.Fatalf("message = %q\n           want %q", ze.Message, msg)
	}
	return ze
}

func TestSNMPGetAllVersions(t *testing.T) {
	d := startSNMPD(t)
	descr := unameDescr(t)
	oids := []string{"1.3.6.1.2.1.1.1.0", oidSysObjectID, oidSysName, oidSysLocation, oidSysUpTime,
		".1.3.6.1.2.1.1.99.0", ".1.3.6.1.2.1.1.5.1"}
	cases := []struct {
		name     string
		req      SNMPRequest
		requests int
	}{
		{"v1", SNMPRequest{Address: d.Addr, Version: "1", Community: d.Community}, 3}, // two noSuchName retries
		{"v2c", SNMPRequest{Address: d.Addr, Community: d.Community}, 1},
		{"v2c snmp url", SNMPRequest{Address: "snmp://" + d.Addr, Version: "v2c", Community: d.Community}, 1},
		{"v3 noAuthNoPriv", snmpV3Req(d, testutil.SNMPNoAuthUser), 2}, // engine discovery + GET
		{"v3 authNoPriv SHA", snmpV3Req(d, testutil.SNMPAuthUser), 2},
		{"v3 authPriv SHA AES", snmpV3Req(d, testutil.SNMPPrivUser), 2},
		{"v3 authPriv lower-case protocols", func() SNMPRequest {
			r := snmpV3Req(d, testutil.SNMPPrivUser)
			r.AuthProtocol, r.PrivProtocol, r.SecurityLevel = "sha", "aes", "AUTHPRIV"
			return r
		}(), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Op, c.req.OIDs = SNMPOpGet, oids
			resp := snmpDo(t, c.req)
			if len(resp.Varbinds) != len(oids) {
				t.Fatalf("got %d varbinds, want %d: %+v", len(resp.Varbinds), len(oids), resp.Varbinds)
			}
			up := resp.Varbinds[4]
			if up.OID != oidSysUpTime || up.Type != "TimeTicks" {
				t.Errorf("sysUpTime = %+v, want TimeTicks", up)
			}
			if _, ok := up.Value.(uint64); !ok {
				t.Errorf("sysUpTime value %#v is not a uint64", up.Value)
			}
			want := []SNMPVarbind{
				{OID: oidSysDescr, Type: "OctetString", Value: descr, Hex: colonHex([]byte(descr))},
				{OID: oidSysObjectID, Type: "ObjectIdentifier", Value: ".1.3.6.1.4.1.8072.3.2.10"}, // net-snmp on Linux
				{OID: oidSysName, Type: "OctetString", Value: "zappy-unit", Hex: "7a:61:70:70:79:2d:75:6e:69:74"},
				{OID: oidSysLocation, Type: "OctetString", Value: "rack 7, loopback", Hex: colonHex([]byte("rack 7, loopback"))},
				up,
				{OID: ".1.3.6.1.2.1.1.99.0", Type: "NoSuchObject"},
				{OID: ".1.3.6.1.2.1.1.5.1", Type: "NoSuchInstance"},
			}
			if c.req.Version == "1" {
				// SNMPv1 has no exceptions: noSuchName becomes NoSuchObject.
				want[6].Type = "NoSuchObject"
			}
			if !reflect.DeepEqual(resp.Varbinds, want) {
				t.Errorf("varbinds:\n got %+v\nwant %+v", resp.Varbinds, want)
			}
			if resp.Requests != c.requests || resp.Bulk {
				t.Errorf("requests = %d bulk = %v, want %d false", resp.Requests, resp.Bulk, c.requests)
			}
			if resp.ElapsedMS <= 0 {
				t.Errorf("elapsed_ms = %v", resp.ElapsedMS)
			}
		})
	}
}

func TestSNMPGetNext(t *testing.T) {
	d := startSNMPD(t)
	for _, version := range []string{"1", "2c"} {
		t.Run("v"+version, func(t *testing.T) {
			resp := snmpDo(t, SNMPRequest{Address: d.Addr, Version: version, Community: d.Community, Op: SNMPOpGetNext,
				OIDs: []string{".1.3.6.1.2.1.1.1", oidSysContact, oidTestTable + ".1.12", "2.999"}})
			want := []SNMPVarbind{
				{OID: oidSysDescr, Type: "OctetString", Value: unameDescr(t), Hex: colonHex([]byte(unameDescr(t)))},
				{OID: oidSysName, Type: "OctetString", Value: "zappy-unit", Hex: "7a:61:70:70:79:2d:75:6e:69:74"},
				{OID: oidTestTable + ".1.13", Type: "OctetString", Value: ""},
				{OID: ".2.999", Type: "EndOfMibView"},
			}
			if !reflect.DeepEqual(resp.Varbinds, want) {
				t.Errorf("varbinds:\n got %+v\nwant %+v", resp.Varbinds, want)
			}
		})
	}
}

// snmpMasked blanks values that change between two reads (uptime,
// traffic counters), keeping OIDs and types.
func snmpMasked(vbs []SNMPVarbind) []SNMPVarbind {
	out := make([]SNMPVarbind, len(vbs))
	for i, v := range vbs {
		if v.OID == oidSysUpTime || v.Type == "Counter32" || v.Type == "Counter64" {
			v.Value = "(varies)"
		}
		out[i] = v
	}
	return out
}

func TestSNMPWalkAndBulkWalk(t *testing.T) {
	d := startSNMPD(t)
	v2 := func(op string, oids ...string) SNMPRequest {
		return SNMPRequest{Address: d.Addr, Community: d.Community, Op: op, OIDs: oids}
	}
	for _, root := range []string{oidSystem, oidIfTable, oidTestTable} {
		t.Run(root, func(t *testing.T) {
			walk := snmpDo(t, v2(SNMPOpWalk, root))
			bulk := snmpDo(t, v2(SNMPOpBulkWalk, root))
			if len(walk.Varbinds) < 10 {
				t.Fatalf("walk of %s returned %d varbinds: %+v", root, len(walk.Varbinds), walk.Varbinds)
			}
			if !reflect.DeepEqual(snmpMasked(walk.Varbinds), snmpMasked(bulk.Varbinds)) {
				t.Errorf("walk and bulkwalk differ:\nwalk %+v\nbulk %+v", walk.Varbinds, bulk.Varbinds)
			}
			for i, v := range walk.Varbinds {
				if !strings.HasPrefix(v.OID, root+".") {
					t.Errorf("varbind %s outside %s", v.OID, root)
				}
				if i > 0 && compareOIDs(walk.Varbinds[i-1].OID, v.OID) >= 0 {
					t.Errorf("varbinds out of order: %s then %s", walk.Varbinds[i-1].OID, v.OID)
				}
			}
			// GETNEXT: one request per varbind plus the one that left the
			// subtree. GETBULK: 25 per request.
			n := len(walk.Varbinds)
			if walk.Bulk || walk.Requests != n+1 {
				t.Errorf("walk: bulk=%v requests=%d, want false %d", walk.Bulk, walk.Requests, n+1)
			}
			if !bulk.Bulk || bulk.Requests != n/25+1 {
				t.Errorf("bulkwalk: bulk=%v requests=%d, want true %d", bulk.Bulk, bulk.Requests, n/25+1)
			}
		})
	}

	t.Run("ifTable matches the kernel", func(t *testing.T) {
		ifaces, err := net.Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		resp := snmpDo(t, v2(SNMPOpBulkWalk, oidIfDescr, oidIfType, oidIfPhys, oidIfHCIn))
		byOID := map[string]SNMPVarbind{}
		for _, v := range resp.Varbinds {
			byOID[v.OID] = v
		}
		if len(resp.Varbinds) != 4*len(ifaces) {
			t.Errorf("%d varbinds for %d interfaces x 4 columns", len(resp.Varbinds), len(ifaces))
		}
		sawLo := false
		for _, ifc := range ifaces {
			idx := "." + strconv.Itoa(ifc.Index)
			descr := byOID[oidIfDescr+idx]
			if descr.Type != "OctetString" || descr.Value != ifc.Name {
				t.Errorf("ifDescr%s = %+v, want %q", idx, descr, ifc.Name)
			}
			phys := byOID[oidIfPhys+idx]
			if phys.Type != "OctetString" || phys.Hex != ifc.HardwareAddr.String() {
				t.Errorf("ifPhysAddress%s = %+v, want hex %q", idx, phys, ifc.HardwareAddr.String())
			}
			if len(ifc.HardwareAddr) == 6 && phys.Value != ifc.HardwareAddr.String() && phys.Value != string(ifc.HardwareAddr) {
				t.Errorf("ifPhysAddress%s value %q", idx, phys.Value)
			}
			hc := byOID[oidIfHCIn+idx]
			if _, ok := hc.Value.(uint64); hc.Type != "Counter64" || !ok {
				t.Errorf("ifHCInOctets%s = %+v (%T), want Counter64 uint64", idx, hc, hc.Value)
			}
			if ifc.Flags&net.FlagLoopback != 0 {
				sawLo = true
				if typ := byOID[oidIfType+idx]; typ.Value != int64(24) { // softwareLoopback
					t.Errorf("ifType of %s = %+v, want 24", ifc.Name, typ)
				}
			}
		}
		if !sawLo {
			t.Error("no loopback interface seen")
		}
	})

	t.Run("leaf instance", func(t *testing.T) {
		for _, op := range []string{SNMPOpWalk, SNMPOpBulkWalk} {
			resp := snmpDo(t, v2(op, oidSysName))
			want := []SNMPVarbind{{OID: oidSysName, Type: "OctetString", Value: "zappy-unit", Hex: "7a:61:70:70:79:2d:75:6e:69:74"}}
			if !reflect.DeepEqual(resp.Varbinds, want) {
				t.Errorf("%s of sysName.0 = %+v", op, resp.Varbinds)
			}
		}
	})

	t.Run("empty subtree", func(t *testing.T) {
		for _, op := range []string{SNMPOpWalk, SNMPOpBulkWalk} {
			resp := snmpDo(t, v2(op, ".1.3.6.1.4.1.99998"))
			if len(resp.Varbinds) != 0 {
				t.Errorf("%s of an empty subtree = %+v", op, resp.Varbinds)
			}
		}
	})

	t.Run("v3 authPriv bulkwalk", func(t *testing.T) {
		req := snmpV3Req(d, testutil.SNMPPrivUser)
		req.Op, req.OIDs = SNMPOpBulkWalk, []string{oidTestTable}
		resp := snmpDo(t, req)
		want := snmpDo(t, v2(SNMPOpBulkWalk, oidTestTable))
		if !reflect.DeepEqual(resp.Varbinds, want.Varbinds) {
			t.Errorf("v3 bulkwalk:\n got %+v\nwant %+v", resp.Varbinds, want.Varbinds)
		}
	})
}

func TestSNMPValueTypes(t *testing.T) {
	d := startSNMPD(t)
	resp := snmpDo(t, SNMPRequest{Address: d.Addr, Community: d.Community, Op: SNMPOpBulkWalk, OIDs: []string{oidTestTable}})
	o := func(n int) string { return fmt.Sprintf("%s.1.%d", oidTestTable, n) }
	want := []SNMPVarbind{
		{OID: o(1), Type: "Counter64", Value: uint64(18446744073709551615)},
		{OID: o(2), Type: "Counter64", Value: uint64(9007199254740993)},
		{OID: o(3), Type: "OctetString", Value: "18:e8:29:45:f8:f7", Hex: "18:e8:29:45:f8:f7"},
		{OID: o(4), Type: "OctetString", Value: "héllo wörld", Hex: "68:c3:a9:6c:6c:6f:20:77:c3:b6:72:6c:64"},
		{OID: o(5), Type: "IPAddress", Value: "10.1.2.3"},
		{OID: o(6), Type: "ObjectIdentifier", Value: ".1.3.6.1.4.1.8072"},
		{OID: o(7), Type: "Opaque", Value: "01:02:ff", Hex: "01:02:ff"},
		{OID: o(8), Type: "Gauge32", Value: uint64(4294967295)}, // snmpd serves "unsigned" as Gauge32
		{OID: o(9), Type: "Integer", Value: int64(-2147483648)},
		{OID: o(10), Type: "TimeTicks", Value: uint64(4294967295)},
		{OID: o(11), Type: "Counter32", Value: uint64(4294967295)},
		{OID: o(12), Type: "OctetString", Value: "61:62:00", Hex: "61:62:00"},
		{OID: o(13), Type: "OctetString", Value: ""},
	}
	if !reflect.DeepEqual(resp.Varbinds, want) {
		t.Fatalf("varbinds:\n got %#v\nwant %#v", resp.Varbinds, want)
	}
	// Counter64 must survive JSON exactly (the ABI is JSON).
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"value":18446744073709551615`, `"value":9007199254740993`, `"value":-2147483648`,
		`"type":"NoSuch`, `"hex":"18:e8:29:45:f8:f7"`} {
		if want := !strings.HasPrefix(s, `"type":"NoSuch`); strings.Contains(string(b), s) != want {
			t.Errorf("JSON %s: contains %s = %v", b, s, !want)
		}
	}
	get := snmpDo(t, SNMPRequest{Address: d.Addr, Community: d.Community, OIDs: []string{".1.3.6.1.2.1.1.99.0"}})
	b, _ = json.Marshal(get.Varbinds)
	if string(b) != `[{"oid":".1.3.6.1.2.1.1.99.0","type":"NoSuchObject","value":null}]` {
		t.Errorf("NoSuchObject JSON = %s", b)
	}
}

func TestSNMPv1BulkWalkFallsBack(t *testing.T) {
	d := startSNMPD(t)
	v2 := snmpDo(t, SNMPRequest{Address: d.Addr, Community: d.Community, Op: SNMPOpWalk, OIDs: []string{oidSystem, oidTestTable}})
	v1 := snmpDo(t, SNMPRequest{Address: d.Addr, Version: "1", Community: d.Community, Op: SNMPOpBulkWalk, OIDs: []string{oidSystem, oidTestTable}})
	if v1.Bulk {
		t.Error("bulk = true on SNMPv1")
	}
	// SNMPv1 has no Counter64: the agent skips those objects.
	var want []SNMPVarbind
	for _, v := range v2.Varbinds {
		if v.Type != "Counter64" {
			want = append(want, v)
		}
	}
	if !reflect.DeepEqual(snmpMasked(v1.Varbinds), snmpMasked(want)) {
		t.Errorf("v1 bulkwalk:\n got %+v\nwant %+v", v1.Varbinds, want)
	}
	// One GETNEXT per varbind, plus one leaving each of the two subtrees.
	if v1.Requests != len(v1.Varbinds)+2 {
		t.Errorf("requests = %d for %d varbinds", v1.Requests, len(v1.Varbinds))
	}
	// The end of the MIB view on v1 is a noSuchName error, not a failure.
	end := snmpDo(t, SNMPRequest{Address: d.Addr, Version: "1", Community: d.Community, Op: SNMPOpWalk, OIDs: []string{"2.999"}})
	if len(end.Varbinds) != 0 {
		t.Errorf("v1 walk past the end = %+v", end.Varbinds)
	}
}

func TestSNMPMaxVarbinds(t *testing.T) {
	d := startSNMPD(t)
	req := SNMPRequest{Address: d.Addr, Community: d.Community, Op: SNMPOpBulkWalk, OIDs: []string{oidTestTable}}
	n := len(snmpTestTable.Objects)
	req.MaxVarbinds = n
	if resp := snmpDo(t, req); len(resp.Varbinds) != n {
		t.Fatalf("max_varbinds %d: got %d varbinds", n, len(resp.Varbinds))
	}
	for _, op := range []string{SNMPOpWalk, SNMPOpBulkWalk} {
		req.Op, req.MaxVarbinds = op, n-1
		resp, err := SNMP(context.Background(), req)
		snmpWantErr(t, err, CodeLimit, fmt.Sprintf("snmp %s: more than %d varbinds (max_varbinds)", d.Addr, n-1))
		if len(resp.Varbinds) != n-1 {
			t.Errorf("%s: partial result has %d varbinds, want %d", op, len(resp.Varbinds), n-1)
		}
	}
	// Two roots share the cap.
	req.OIDs, req.MaxVarbinds = []string{oidTestTable, oidTestTable}, 2*n-1
	_, err := SNMP(context.Background(), req)
	snmpWantErr(t, err, CodeLimit, "")
}

// silentUDP binds a UDP socket on loopback that reads requests and never
// answers; each request is reported on the returned channel.
func silentUDP(t testing.TB) (string, <-chan []byte) {
	t.Helper()
	got := make(chan []byte, 100)
	addr := testutil.ServeUDP(t, func(b []byte) []byte {
		select {
		case got <- append([]byte(nil), b...):
		default:
		}
		return nil
	})
	return addr, got
}

// snmpRelay forwards the first n datagrams sent to it to the agent at
// target and relays the answers; later datagrams are dropped, as if the
// agent had stopped answering.
func snmpRelay(t testing.TB, target string, n int) string {
	t.Helper()
	front, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.Dial("udp4", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close(); back.Close() })
	go func() {
		buf := make([]byte, 65535)
		for i := 0; ; i++ {
			m, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			if i >= n {
				continue
			}
			if _, err := back.Write(buf[:m]); err != nil {
				return
			}
			back.SetReadDeadline(time.Now().Add(5 * time.Second))
			m, err = back.Read(buf)
			if err != nil {
				return
			}
			front.WriteTo(buf[:m], from)
		}
	}()
	return front.LocalAddr().String()
}

func TestSNMPFailures(t *testing.T) {
	d := startSNMPD(t)
	silent, _ := silentUDP(t)
	sysName := []string{oidSysName}
	v3 := func(u testutil.SNMPUser, edit func(*SNMPRequest)) SNMPRequest {
		r := snmpV3Req(d, u)
		r.OIDs, r.TimeoutMS = sysName, 300
		edit(&r)
		return r
	}
	cases := []struct {
		name string
		req  SNMPRequest
		code Code
		msg  string
	}{
		{"wrong community", SNMPRequest{Address: d.Addr, Community: "wrong", OIDs: sysName, TimeoutMS: 200},
			CodeTimeout, "snmp " + d.Addr + ": no response after 2 attempts (timeout 200ms) — agent down, wrong port or wrong community?"},
		{"silent agent v1 no retries", SNMPRequest{Address: silent, Version: "1", OIDs: sysName, TimeoutMS: 100, Retries: -1},
			CodeTimeout, "snmp " + silent + ": no response after 1 attempt (timeout 100ms) — agent down, wrong port or wrong community?"},
		{"silent agent v3", SNMPRequest{Address: silent, Version: "3", Username: "u", OIDs: sysName, TimeoutMS: 100, Retries: 2},
			CodeTimeout, "snmp " + silent + ": no response after 3 attempts (timeout 100ms) — agent down or wrong port?"},
		{"v3 wrong auth passphrase", v3(testutil.SNMPPrivUser, func(r *SNMPRequest) { r.AuthPassphrase = "not-the-auth-pass" }),
			CodeProtocol, "snmp " + d.Addr + `: authentication failed for SNMPv3 user "zappy-priv": wrong auth passphrase or auth protocol SHA (usmStatsWrongDigests)`},
		{"v3 wrong auth protocol", v3(testutil.SNMPAuthUser, func(r *SNMPRequest) { r.AuthProtocol = "md5" }),
			CodeProtocol, "snmp " + d.Addr + `: authentication failed for SNMPv3 user "zappy-auth": wrong auth passphrase or auth protocol MD5 (usmStatsWrongDigests)`},
		{"v3 wrong priv passphrase", v3(testutil.SNMPPrivUser, func(r *SNMPRequest) { r.PrivPassphrase = "not-the-priv-pass" }),
			CodeProtocol, "snmp " + d.Addr + `: the agent answered SNMPv3 engine discovery but dropped every authPriv request (2 attempts, timeout 300ms): wrong priv passphrase or privacy protocol AES for SNMPv3 user "zappy-priv"?`},
		{"v3 wrong priv protocol", v3(testutil.SNMPPrivUser, func(r *SNMPRequest) { r.PrivProtocol = "DES" }),
			CodeProtocol, "snmp " + d.Addr + `: the agent answered SNMPv3 engine discovery but dropped every authPriv request (2 attempts, timeout 300ms): wrong priv passphrase or privacy protocol DES for SNMPv3 user "zappy-priv"?`},
		{"v3 unknown user", v3(testutil.SNMPNoAuthUser, func(r *SNMPRequest) { r.Username = "nobody" }),
			CodeProtocol, "snmp " + d.Addr + `: SNMPv3 user "nobody" is unknown to the agent (usmStatsUnknownUserNames)`},
		{"v3 unknown user with auth", v3(testutil.SNMPPrivUser, func(r *SNMPRequest) { r.Username = "nobody" }),
			CodeProtocol, "snmp " + d.Addr + `: SNMPv3 user "nobody" is unknown to the agent (usmStatsUnknownUserNames)`},
		{"v3 level below the user's", v3(testutil.SNMPPrivUser, func(r *SNMPRequest) { r.SecurityLevel = "authNoPriv" }),
			CodeProtocol, "snmp " + d.Addr + `: agent answered error-status AuthorizationError (access control: security level authNoPriv is below what user "zappy-priv" needs, or the OID is outside its view)`},
		{"v3 level needs passphrase", v3(testutil.SNMPNoAuthUser, func(r *SNMPRequest) { r.SecurityLevel = "authPriv" }),
			CodeInvalid, "snmp " + d.Addr + ": security level authPriv needs auth_passphrase"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resp, err := SNMP(context.Background(), c.req)
			snmpWantErr(t, err, c.code, c.msg)
			if len(resp.Varbinds) != 0 {
				t.Errorf("varbinds on error: %+v", resp.Varbinds)
			}
		})
	}

	t.Run("closed port", func(t *testing.T) {
		closed := testutil.ClosedPort(t, "udp")
		_, err := SNMP(context.Background(), SNMPRequest{Address: closed, OIDs: sysName, TimeoutMS: 1000})
		snmpWantErr(t, err, CodeRefused, "snmp "+closed+": port unreachable after 2 attempts — no SNMP agent listening on that port?")
	})

	t.Run("agent stopped", func(t *testing.T) {
		d2 := startSNMPD(t)
		req := SNMPRequest{Address: d2.Addr, Community: d2.Community, OIDs: sysName, TimeoutMS: 200}
		snmpDo(t, req)
		d2.Stop()
		resp, err := SNMP(context.Background(), req)
		if err == nil {
			t.Fatalf("answer after Stop: %+v\n%s", resp, d2.Log())
		}
		snmpWantErr(t, err, CodeRefused, "snmp "+d2.Addr+": port unreachable after 2 attempts — no SNMP agent listening on that port?")
	})

	t.Run("agent stops answering mid-walk", func(t *testing.T) {
		// Warm up: snmpd starts the pass_persist script on first use.
		snmpDo(t, SNMPRequest{Address: d.Addr, Community: d.Community, OIDs: []string{oidTestTable + ".1.1"}})
		relay := snmpRelay(t, d.Addr, 2)
		req := SNMPRequest{Address: relay, Community: d.Community, Op: SNMPOpBulkWalk, OIDs: []string{oidTestTable},
			MaxRepetitions: 3, TimeoutMS: 300}
		resp, err := SNMP(context.Background(), req)
		snmpWantErr(t, err, CodeTimeout, "snmp "+relay+": the agent stopped answering: no response after 2 attempts, timeout 300ms (2 requests answered before)")
		if len(resp.Varbinds) != 6 || resp.Requests != 4 {
			t.Errorf("got %d varbinds in %d requests, want 6 in 4", len(resp.Varbinds), resp.Requests)
		}

		// The same with the check's deadline ending the wait.
		relay = snmpRelay(t, d.Addr, 2)
		req.Address, req.TimeoutMS = relay, 60000
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		resp, err = SNMP(ctx, req)
		snmpWantErr(t, err, CodeTimeout, "snmp "+relay+": deadline reached (requests sent: 3, answered: 2)")
		if len(resp.Varbinds) != 6 {
			t.Errorf("got %d varbinds, want 6", len(resp.Varbinds))
		}
	})
}

func TestSNMPInvalidRequests(t *testing.T) {
	base := SNMPRequest{Address: "127.0.0.1:1161", OIDs: []string{oidSysName}}
	cases := []struct {
		name string
		edit func(*SNMPRequest)
		msg  string
	}{
		{"no address", func(r *SNMPRequest) { r.Address = "" }, "snmp : address is empty"},
		{"bad port", func(r *SNMPRequest) { r.Address = "127.0.0.1:99999" }, `snmp 127.0.0.1:99999: bad port "99999"`},
		{"other scheme", func(r *SNMPRequest) { r.Address = "http://127.0.0.1" }, `snmp http://127.0.0.1: scheme "http" is not snmp`},
		{"version", func(r *SNMPRequest) { r.Version = "4" }, `snmp 127.0.0.1:1161: version "4": want 1, 2c or 3`},
		{"op", func(r *SNMPRequest) { r.Op = "set" }, `snmp 127.0.0.1:1161: op "set": want get, getnext, walk or bulkwalk`},
		{"no oids", func(r *SNMPRequest) { r.OIDs = nil }, "snmp 127.0.0.1:1161: no OIDs given"},
		{"named oid", func(r *SNMPRequest) { r.OIDs = []string{"sysDescr.0"} }, `snmp 127.0.0.1:1161: OID "sysDescr.0" is not numeric (names like sysDescr.0 are not resolved)`},
		{"empty arc", func(r *SNMPRequest) { r.OIDs = []string{"1.3..6"} }, `snmp 127.0.0.1:1161: OID "1.3..6" is not numeric (names like sysDescr.0 are not resolved)`},
		{"one arc", func(r *SNMPRequest) { r.OIDs = []string{".1"} }, `snmp 127.0.0.1:1161: OID ".1" needs at least two arcs`},
		{"first arc", func(r *SNMPRequest) { r.OIDs = []string{"3.1"} }, `snmp 127.0.0.1:1161: OID "3.1": first arc must be 0, 1 or 2`},
		{"second arc", func(r *SNMPRequest) { r.OIDs = []string{"1.40"} }, `snmp 127.0.0.1:1161: OID "1.40": second arc must be below 40`},
		{"huge arc", func(r *SNMPRequest) { r.OIDs = []string{"1.3.4294967296"} }, `snmp 127.0.0.1:1161: OID "1.3.4294967296": arc 4294967296 out of range`},
		{"too many oids", func(r *SNMPRequest) { r.OIDs = make([]string, 61) }, "snmp 127.0.0.1:1161: 61 OIDs in one get (at most 60)"},
		{"timeout", func(r *SNMPRequest) { r.TimeoutMS = -1 }, "snmp 127.0.0.1:1161: timeout_ms -1 is negative"},
		{"retries", func(r *SNMPRequest) { r.Retries = 11 }, "snmp 127.0.0.1:1161: retries 11: at most 10"},
		{"max repetitions", func(r *SNMPRequest) { r.MaxRepetitions = 1001 }, "snmp 127.0.0.1:1161: max_repetitions 1001: want 1..1000"},
		{"max varbinds", func(r *SNMPRequest) { r.MaxVarbinds = -1 }, "snmp 127.0.0.1:1161: max_varbinds -1 is negative"},
		{"v3 no user", func(r *SNMPRequest) { r.Version = "3" }, "snmp 127.0.0.1:1161: version 3 needs a username"},
		{"v3 level", func(r *SNMPRequest) { r.Version, r.Username, r.SecurityLevel = "3", "u", "high" },
			`snmp 127.0.0.1:1161: security_level "high": want noAuthNoPriv, authNoPriv or authPriv`},
		{"v3 auth protocol", func(r *SNMPRequest) {
			r.Version, r.Username, r.AuthPassphrase, r.AuthProtocol = "3", "u", "12345678", "SHA3"
		},
			`snmp 127.0.0.1:1161: auth_protocol "SHA3": want MD5, SHA, SHA224, SHA256, SHA384 or SHA512`},
		{"v3 priv protocol", func(r *SNMPRequest) {
			r.Version, r.Username, r.AuthPassphrase, r.PrivPassphrase, r.PrivProtocol = "3", "u", "12345678", "12345678", "3DES"
		}, `snmp 127.0.0.1:1161: priv_protocol "3DES": want DES, AES, AES192, AES256, AES192C or AES256C`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base
			c.edit(&r)
			resp, err := SNMP(context.Background(), r)
			snmpWantErr(t, err, CodeInvalid, c.msg)
			if resp.Requests != 0 || resp.Varbinds == nil {
				t.Errorf("response %+v", resp)
			}
		})
	}
}

func TestSNMPParse(t *testing.T) {
	addrs := []struct{ in, host, port string }{
		{"127.0.0.1", "127.0.0.1", "161"},
		{"127.0.0.1:1161", "127.0.0.1", "1161"},
		{"snmp://127.0.0.1", "127.0.0.1", "161"},
		{"SNMP://127.0.0.1:1161/", "127.0.0.1", "1161"},
		{"[::1]:1161", "::1", "1161"},
		{"::1", "::1", "161"},
		{"[::1]", "::1", "161"},
		{"switch-1.example", "switch-1.example", "161"},
	}
	for _, a := range addrs {
		host, port, err := parseSNMPAddress(a.in)
		if err != nil || host != a.host || strconv.Itoa(int(port)) != a.port {
			t.Errorf("parseSNMPAddress(%q) = %q %d %v, want %q %s", a.in, host, port, err, a.host, a.port)
		}
	}
	levels := []struct {
		req                       SNMPRequest
		level, auth, priv         string
		authPassSent, privPassSet bool
	}{
		{SNMPRequest{Username: "u"}, "noAuthNoPriv", "", "", false, false},
		{SNMPRequest{Username: "u", AuthPassphrase: "a"}, "authNoPriv", "SHA", "", true, false},
		{SNMPRequest{Username: "u", AuthPassphrase: "a", PrivPassphrase: "p"}, "authPriv", "SHA", "AES", true, true},
		{SNMPRequest{Username: "u", AuthPassphrase: "a", AuthProtocol: "sha-256", PrivPassphrase: "p", PrivProtocol: "aes256c"}, "authPriv", "SHA256", "AES256C", true, true},
		{SNMPRequest{Username: "u", AuthPassphrase: "a", PrivPassphrase: "p", SecurityLevel: "authnopriv"}, "authNoPriv", "SHA", "", true, false},
		{SNMPRequest{Username: "u", AuthPassphrase: "a", PrivPassphrase: "p", SecurityLevel: "noAuthNoPriv"}, "noAuthNoPriv", "", "", false, false},
	}
	for _, l := range levels {
		var p snmpParams
		if err := p.parseV3(l.req); err != nil {
			t.Errorf("%+v: %v", l.req, err)
			continue
		}
		if levelName(p.level) != l.level || p.authName != l.auth || p.privName != l.priv ||
			(p.authPass != "") != l.authPassSent || (p.privPass != "") != l.privPassSet {
			t.Errorf("%+v: level %s auth %q priv %q authPass %q privPass %q", l.req, levelName(p.level), p.authName, p.privName, p.authPass, p.privPass)
		}
	}
	if got := compareOIDs(".1.3.6.1.2.1.2.2.1.10.1", ".1.3.6.1.2.1.2.2.1.9.1"); got != 1 {
		t.Errorf("compareOIDs numeric order = %d", got)
	}
	if got := compareOIDs(".1.3.6", ".1.3.6.1"); got != -1 {
		t.Errorf("compareOIDs prefix = %d", got)
	}
}

func TestSNMPContext(t *testing.T) {
	silent, got := silentUDP(t)
	req := SNMPRequest{Address: silent, OIDs: []string{oidSysName}, TimeoutMS: 60000, Retries: -1}

	t.Run("cancel while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-got // the request is on the wire: the call is now waiting
			cancel()
		}()
		resp, err := SNMP(ctx, req)
		snmpWantErr(t, err, CodeCanceled, "snmp "+silent+": canceled")
		// Without cancellation the call would wait for the 60s timeout.
		if resp.ElapsedMS >= 60000 || resp.Requests != 1 {
			t.Errorf("elapsed %vms, %d requests", resp.ElapsedMS, resp.Requests)
		}
	})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		resp, err := SNMP(ctx, req)
		snmpWantErr(t, err, CodeTimeout, "snmp "+silent+": deadline reached (requests sent: 1, answered: 0)")
		if resp.ElapsedMS >= 60000 {
			t.Errorf("elapsed %vms", resp.ElapsedMS)
		}
	})

	t.Run("already canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		resp, err := SNMP(ctx, req)
		snmpWantErr(t, err, CodeCanceled, "snmp "+silent+": canceled")
		if resp.Requests != 0 {
			t.Errorf("%d requests sent", resp.Requests)
		}
	})
}

// TestSNMPMalformedAnswers feeds gosnmp garbage, and real snmpd answers
// truncated or with one byte changed at every position after the request
// ID: every call must end with varbinds or an *Error, never a panic.
func TestSNMPMalformedAnswers(t *testing.T) {
	garbage := [][]byte{
		{0x30},
		{0x30, 0x03, 0x02, 0x01, 0x01},
		{0x30, 0x82, 0xff, 0xff, 0x02, 0x01, 0x01},
		{0x30, 0x0c, 0x02, 0x01, 0x01, 0x04, 0x01, 'x', 0xa2, 0x04, 0x02, 0x02, 0x01},
		[]byte("not snmp at all"),
	}
	for i, a := range garbage {
		addr := mutatingRelay(t, "", func(int, []byte) []byte { return a })
		_, err := SNMP(context.Background(), SNMPRequest{Address: addr, OIDs: []string{oidSysDescr}, TimeoutMS: 100, Retries: -1})
		snmpWantErr(t, err, CodeProtocol, "")
		if !strings.Contains(err.Error(), "malformed answer from the agent") {
			t.Errorf("garbage %d: %v", i, err)
		}
	}

	d := startSNMPD(t)
	o := func(n int) string { return fmt.Sprintf("%s.1.%d", oidTestTable, n) }
	oids := []string{o(1), o(3), o(5), o(6), o(7), o(9), o(10), o(99)}
	var mutation atomic.Int64
	mutations := []func(b []byte, k int) []byte{
		func(b []byte, k int) []byte { return b[:k] },
		func(b []byte, k int) []byte { b[k] = 0xff; return b },
		func(b []byte, k int) []byte { b[k] = 0x00; return b },
		func(b []byte, k int) []byte { b[k] ^= 0x80; return b },
		func(b []byte, k int) []byte { b[k] = 0x84; return b }, // long-form length
	}
	var answerLen atomic.Int64
	addr := mutatingRelay(t, d.Addr, func(reqIDEnd int, answer []byte) []byte {
		answerLen.Store(int64(len(answer)))
		m := int(mutation.Load())
		if m < 0 {
			return answer
		}
		k := reqIDEnd + m/len(mutations)
		if k >= len(answer) {
			return answer
		}
		return mutations[m%len(mutations)](answer, k)
	})
	req := SNMPRequest{Address: addr, Community: d.Community, OIDs: oids, TimeoutMS: 50, Retries: -1}
	mutation.Store(-1)
	if resp := snmpDo(t, req); len(resp.Varbinds) != len(oids) {
		t.Fatalf("unmutated answer: %+v", resp.Varbinds)
	}
	codes := map[Code]int{}
	for m := 0; m < int(answerLen.Load())*len(mutations); m++ {
		mutation.Store(int64(m))
		resp, err := SNMP(context.Background(), req)
		if err == nil {
			codes["ok"]++
			if len(resp.Varbinds) != len(oids) {
				t.Errorf("mutation %d: %d varbinds", m, len(resp.Varbinds))
			}
			continue
		}
		var ze *Error
		if !errors.As(err, &ze) || (ze.Code != CodeProtocol && ze.Code != CodeTimeout) {
			t.Fatalf("mutation %d: err = %v, want a protocol or timeout *Error", m, err)
		}
		codes[ze.Code]++
	}
	t.Logf("outcomes of %d mutated answers: %v", int(answerLen.Load())*len(mutations), codes)
}

// mutatingRelay answers each datagram sent to it with edit(reqIDEnd,
// answer), where answer is target's answer (nil when target is "") and
// reqIDEnd the offset just past the request ID in it.
func mutatingRelay(t testing.TB, target string, edit func(reqIDEnd int, answer []byte) []byte) string {
	t.Helper()
	front, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close() })
	var back net.Conn
	if target != "" {
		if back, err = net.Dial("udp4", target); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { back.Close() })
	}
	go func() {
		buf := make([]byte, 65535)
		for {
			m, from, err := front.ReadFrom(buf)
			if err != nil {
				return
			}
			var answer []byte
			end := 0
			if back != nil {
				back.Write(buf[:m])
				back.SetReadDeadline(time.Now().Add(5 * time.Second))
				if m, err = back.Read(buf); err != nil {
					return
				}
				answer = append([]byte(nil), buf[:m]...)
				end = berRequestIDEnd(answer)
			}
			front.WriteTo(edit(end, answer), from)
		}
	}()
	return front.LocalAddr().String()
}

// berRequestIDEnd returns the offset just past the request-id of a v1/v2c
// message: SEQUENCE { version, community, PDU { request-id, ... } }.
func berRequestIDEnd(b []byte) int {
	header := func(i int) (content, end int) { // tag at i
		l := int(b[i+1])
		content = i + 2
		if l&0x80 != 0 {
			n := l & 0x7f
			l = 0
			for j := 0; j < n; j++ {
				l = l<<8 | int(b[content+j])
			}
			content += n
		}
		return content, content + l
	}
	i, _ := header(0)   // message SEQUENCE
	_, i = header(i)    // version
	_, i = header(i)    // community
	i, _ = header(i)    // PDU
	_, end := header(i) // request-id
	return end
}

func BenchmarkSNMPGet(b *testing.B) {
	d := startSNMPD(b)
	req := SNMPRequest{Address: d.Addr, Community: d.Community, OIDs: []string{oidSysName}}
	b.ReportAllocs()
	for b.Loop() {
		snmpDo(b, req)
	}
}

func BenchmarkSNMPGetV3AuthPriv(b *testing.B) {
	d := startSNMPD(b)
	req := snmpV3Req(d, testutil.SNMPPrivUser)
	req.OIDs = []string{oidSysName}
	b.ReportAllocs()
	for b.Loop() {
		snmpDo(b, req)
	}
}

func benchmarkIfTable(b *testing.B, op string) {
	d := startSNMPD(b)
	req := SNMPRequest{Address: d.Addr, Community: d.Community, Op: op, OIDs: []string{oidIfTable}}
	b.ReportAllocs()
	var varbinds, requests int
	for b.Loop() {
		resp := snmpDo(b, req)
		varbinds, requests = len(resp.Varbinds), resp.Requests
	}
	b.ReportMetric(float64(varbinds), "varbinds/op")
	b.ReportMetric(float64(requests), "pdus/op")
}

func BenchmarkSNMPWalkIfTable(b *testing.B)     { benchmarkIfTable(b, SNMPOpWalk) }
func BenchmarkSNMPBulkWalkIfTable(b *testing.B) { benchmarkIfTable(b, SNMPOpBulkWalk) }

// TestSNMPColumns: a walk asked for columns returns exactly the varbinds of
// the plain walk, grouped by root, with the root left out of every OID.
func TestSNMPColumns(t *testing.T) {
	d := startSNMPD(t)
	roots := []string{oidIfDescr, oidTestTable, ".1.3.6.1.4.1.99999.404"} // uniform, mixed types, empty
	plain := snmpDo(t, SNMPRequest{Address: d.Addr, Community: d.Community, Op: SNMPOpBulkWalk, OIDs: roots})
	cols := snmpDo(t, SNMPRequest{Address: d.Addr, Community: d.Community, Op: SNMPOpBulkWalk, OIDs: roots, Columns: true})
	if len(cols.Varbinds) != 0 || len(cols.Columns) != len(roots) {
		t.Fatalf("columns response: %d varbinds, %d columns", len(cols.Varbinds), len(cols.Columns))
	}
	// Rebuild the varbinds from the columns.
	var rebuilt []SNMPVarbind
	for i, c := range cols.Columns {
		if c.Root != roots[i] {
			t.Errorf("column %d root %s, want %s", i, c.Root, roots[i])
		}
		for r, idx := range c.Index {
			v := SNMPVarbind{OID: c.Root + "." + idx, Type: c.Type, Value: c.Values[r]}
			if c.Types != nil {
				v.Type = c.Types[r]
			}
			if c.Hex != nil {
				v.Hex = c.Hex[r]
			}
			rebuilt = append(rebuilt, v)
		}
	}
	if !reflect.DeepEqual(snmpMasked(rebuilt), snmpMasked(plain.Varbinds)) {
		t.Errorf("columns differ from the walk:\ncolumns %+v\nwalk    %+v", rebuilt, plain.Varbinds)
	}
	if c := cols.Columns[0]; c.Type != "OctetString" || c.Types != nil || len(c.Index) == 0 || c.Index[0] != "1" {
		t.Errorf("ifDescr column: %+v", c)
	}
	if c := cols.Columns[1]; c.Type != "" || len(c.Types) != len(c.Index) || c.Hex == nil {
		t.Errorf("mixed column: %+v", c)
	}
	if c := cols.Columns[2]; len(c.Index) != 0 || c.Type != "" {
		t.Errorf("empty column: %+v", c)
	}
	// The JSON carries no OID prefixes: it is much smaller.
	pj, _ := json.Marshal(plain)
	cj, _ := json.Marshal(cols)
	if len(cj) >= len(pj)*3/4 {
		t.Errorf("columns JSON %d bytes vs %d for varbinds", len(cj), len(pj))
	}
	_, err := SNMP(context.Background(), SNMPRequest{Address: d.Addr, Community: d.Community, OIDs: []string{oidIfDescr + ".1"}, Columns: true})
	snmpWantErr(t, err, CodeInvalid, "snmp "+d.Addr+": columns is for walk and bulkwalk, not get")
}
