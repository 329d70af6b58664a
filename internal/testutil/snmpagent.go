package testutil

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gosnmp/gosnmp"
)

const (
	// agentMaxResponse bounds an encoded response: every response is
	// shorter than this many bytes, so it fits one UDP datagram with room
	// to spare (RFC 3416 lets a GetBulk response carry fewer varbinds).
	agentMaxResponse = 65000
	// agentMaxRepetitions caps GetBulk max-repetitions, as agents do to
	// bound the work a single request can ask for.
	agentMaxRepetitions = 1000
	// agentMaxCommunity is the longest community gosnmp encodes correctly:
	// it writes the community length as a single BER length octet.
	agentMaxCommunity = 127
)

// SNMPAgent is an SNMP v1/v2c agent on 127.0.0.1 whose objects a test sets.
//
// Debian's snmpd (StartSNMPD) serves a real MIB; SNMPAgent exists for what
// snmpd cannot do: a test controls every object and changes it between
// polls (an interface going down, a counter wrapping, a device rebooting, a
// MAC moving to another port, a vendor OID appearing), and one agent answers
// hundreds of concurrent pollers in benchmarks. It answers GetRequest,
// GetNextRequest and GetBulkRequest as RFC 3416 (and RFC 1157 for v1)
// describe, refuses SetRequest as a read-only community would, and silently
// drops anything else: a wrong community, SNMPv3, malformed datagrams.
//
// A test populating IF-MIB rows:
//
//	a := testutil.StartSNMPAgent(t, "")
//	a.Set(".1.3.6.1.2.1.2.2.1.2.1", gosnmp.OctetString, "Gi0/1")   // ifDescr.1
//	a.Set(".1.3.6.1.2.1.2.2.1.8.1", gosnmp.Integer, 1)              // ifOperStatus.1 = up
//	a.Set(".1.3.6.1.2.1.2.2.1.6.1", gosnmp.OctetString, []byte{0, 0x1b, 0x54, 0xaa, 0xbb, 0xcc}) // ifPhysAddress.1
//	a.Set(".1.3.6.1.2.1.31.1.1.1.6.1", gosnmp.Counter64, uint64(1)<<63) // ifHCInOctets.1
//	// ... poll ...
//	a.Set(".1.3.6.1.2.1.2.2.1.8.1", gosnmp.Integer, 2)              // the link goes down
//	a.Delete(".1.3.6.1.2.1.2.2.1")                                  // the whole ifTable disappears
//
// Set, Delete, SetMute and Requests are safe to call while clients poll.
type SNMPAgent struct {
	Addr      string // "127.0.0.1:PORT"
	Community string

	t        testing.TB
	conn     *net.UDPConn
	done     chan struct{} // closed when the read loop has returned
	stopOnce sync.Once

	mu   sync.Mutex
	objs []agentObject // sorted by arcs

	mute     atomic.Bool
	requests atomic.Int64
}

// agentObject is one object of the agent's MIB: its OID as integer arcs (to
// order it) and the varbind served for it.
type agentObject struct {
	arcs []uint32
	pdu  gosnmp.SnmpPDU
}

// StartSNMPAgent listens on a free UDP port of 127.0.0.1 and serves until the test ends (t.Cleanup).
// community "" means "public".
func StartSNMPAgent(t testing.TB, community string) *SNMPAgent {
	t.Helper()
	if community == "" {
		community = "public"
	}
	if len(community) > agentMaxCommunity {
		t.Fatalf("snmp agent: community is %d bytes, gosnmp encodes at most %d", len(community), agentMaxCommunity)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("snmp agent: listen on 127.0.0.1: %v", err)
	}
	a := &SNMPAgent{
		Addr:      conn.LocalAddr().String(),
		Community: community,
		t:         t,
		conn:      conn,
		done:      make(chan struct{}),
	}
	go a.serve()
	t.Cleanup(a.stop)
	return a
}

// Set sets (or adds) one object. typ is the gosnmp type (gosnmp.Integer, gosnmp.OctetString,
// gosnmp.Counter32, gosnmp.Counter64, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.ObjectIdentifier,
// gosnmp.IPAddress, ...); value is what gosnmp marshals for that type (int, uint32/uint, uint64,
// string, []byte for OctetString bytes such as a MAC, string OID for ObjectIdentifier).
// oid is numeric with or without the leading dot.
//
// Any Go integer type is accepted for the integer types as long as the
// value fits (so a.Set(oid, gosnmp.Gauge32, 1000) works with an untyped
// constant); IPAddress takes a dotted IPv4 string, a 4-byte []byte or a
// net.IP; Null takes nil; OpaqueFloat and OpaqueDouble take float32 and
// float64. []byte values are copied. A malformed oid or a value gosnmp
// cannot encode for typ fails the test with t.Fatalf, so call Set from the
// test's goroutine when its input can be wrong.
func (a *SNMPAgent) Set(oid string, typ gosnmp.Asn1BER, value any) {
	a.t.Helper()
	obj, err := newAgentObject(oid, typ, value)
	if err != nil {
		a.t.Fatalf("snmp agent: set %s: %v", oid, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	i, found := slices.BinarySearchFunc(a.objs, obj.arcs, compareObject)
	if found {
		a.objs[i] = obj
		return
	}
	a.objs = slices.Insert(a.objs, i, obj)
}

// Delete removes every object whose OID is oid or below it (an interface row disappearing:
// call it per column instance, or on a whole table).
func (a *SNMPAgent) Delete(oid string) {
	a.t.Helper()
	arcs, err := parseArcs(oid)
	if err != nil {
		a.t.Fatalf("snmp agent: delete %s: %v", oid, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	i, _ := slices.BinarySearchFunc(a.objs, arcs, compareObject)
	j := i
	for j < len(a.objs) && hasArcPrefix(a.objs[j].arcs, arcs) {
		j++
	}
	a.objs = slices.Delete(a.objs, i, j)
}

// SetMute makes the agent drop every request without answering (an unreachable agent) until
// called with false.
func (a *SNMPAgent) SetMute(mute bool) { a.mute.Store(mute) }

// Requests is how many request PDUs the agent has received (answered or not).
// It counts every datagram read: answered, muted, or dropped for a wrong
// community, an unsupported version or a malformed packet.
func (a *SNMPAgent) Requests() int { return int(a.requests.Load()) }

// stop closes the socket and waits for the read loop to return, so no
// goroutine outlives the test.
func (a *SNMPAgent) stop() {
	a.stopOnce.Do(func() { _ = a.conn.Close() })
	<-a.done
}

// serve is the agent's only goroutine: it reads a datagram, answers it
// inline and reads the next, until the socket is closed.
func (a *SNMPAgent) serve() {
	defer close(a.done)
	buf := make([]byte, 65535)
	dec := &gosnmp.GoSNMP{}
	for {
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient read error; the next datagram may be fine
		}
		a.requests.Add(1)
		if a.mute.Load() {
			continue
		}
		if out := a.respond(dec, buf[:n]); out != nil {
			// A client that has gone away is not the agent's problem.
			_, _ = a.conn.WriteToUDPAddrPort(out, from)
		}
	}
}

// respond decodes one request and returns the encoded response, or nil when
// the request is to be dropped without an answer.
func (a *SNMPAgent) respond(dec *gosnmp.GoSNMP, b []byte) []byte {
	// Look at the version before decoding: gosnmp would try to process a v3
	// header with security parameters this agent does not have.
	if v, ok := peekSNMPVersion(b); !ok || (v != gosnmp.Version1 && v != gosnmp.Version2c) {
		return nil
	}
	req, err := decodeRequest(dec, b)
	if err != nil || req.Community != a.Community {
		return nil
	}
	resp := &gosnmp.SnmpPacket{
		Version:   req.Version,
		Community: req.Community,
		PDUType:   gosnmp.GetResponse,
		RequestID: req.RequestID,
	}
	v1 := req.Version == gosnmp.Version1
	switch req.PDUType {
	case gosnmp.GetRequest:
		a.get(req, resp)
	case gosnmp.GetNextRequest:
		a.getNext(req, resp)
	case gosnmp.GetBulkRequest:
		if v1 {
			return nil // GetBulk does not exist in SNMPv1
		}
		return encodeBulk(resp, a.getBulk(req))
	case gosnmp.SetRequest:
		// A read-only community: noAccess in v2c, which RFC 3584 maps to
		// noSuchName in v1.
		resp.Error = gosnmp.NoAccess
		if v1 {
			resp.Error = gosnmp.NoSuchName
		}
		if len(req.Variables) > 0 {
			resp.ErrorIndex = 1
		}
		resp.Variables = req.Variables
	default:
		return nil
	}
	return encodeResponse(resp)
}

// get answers a GetRequest: each OID's value; on v2c a missing one is
// noSuchInstance when its parent has other objects below it (a missing row
// of an existing column) and noSuchObject otherwise; on v1 any missing OID
// (or a Counter64, which v1 cannot carry, RFC 3584 §4.2.2.1) fails the
// whole request with noSuchName.
func (a *SNMPAgent) get(req, resp *gosnmp.SnmpPacket) {
	vbs := make([]gosnmp.SnmpPDU, len(req.Variables))
	v1 := req.Version == gosnmp.Version1
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, vb := range req.Variables {
		arcs, err := parseArcs(vb.Name)
		if err == nil {
			if j, found := slices.BinarySearchFunc(a.objs, arcs, compareObject); found {
				if !v1 || a.objs[j].pdu.Type != gosnmp.Counter64 {
					vbs[i] = a.objs[j].pdu
					continue
				}
			}
		}
		if v1 {
			v1Error(req, resp, gosnmp.NoSuchName, i)
			return
		}
		vbs[i] = gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.NoSuchObject}
		if err == nil && a.hasSiblings(arcs) {
			vbs[i].Type = gosnmp.NoSuchInstance
		}
	}
	resp.Variables = vbs
}

// hasSiblings reports whether some object other than arcs itself lies
// strictly below arcs' parent. Callers hold a.mu.
func (a *SNMPAgent) hasSiblings(arcs []uint32) bool {
	if len(arcs) == 0 {
		return false
	}
	parent := arcs[:len(arcs)-1]
	i := a.after(parent) // the parent itself, if an object, is not below itself
	return i < len(a.objs) && hasArcPrefix(a.objs[i].arcs, parent)
}

// getNext answers a GetNextRequest: the first object strictly after each
// OID; past the end endOfMibView on v2c, noSuchName on v1.
func (a *SNMPAgent) getNext(req, resp *gosnmp.SnmpPacket) {
	vbs := make([]gosnmp.SnmpPDU, len(req.Variables))
	v1 := req.Version == gosnmp.Version1
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, vb := range req.Variables {
		j := a.afterName(vb.Name)
		for v1 && j < len(a.objs) && a.objs[j].pdu.Type == gosnmp.Counter64 {
			j++ // v1 cannot carry Counter64: skip it (RFC 3584 §4.2.2.1)
		}
		if j < len(a.objs) {
			vbs[i] = a.objs[j].pdu
			continue
		}
		if v1 {
			v1Error(req, resp, gosnmp.NoSuchName, i)
			return
		}
		vbs[i] = gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.EndOfMibView}
	}
	resp.Variables = vbs
}

// bulkAnswer is a GetBulk response before encoding: the non-repeaters'
// varbinds followed by whole repetitions of the repeaters' varbinds.
type bulkAnswer struct {
	vbs         []gosnmp.SnmpPDU
	nonRep      int // varbinds answering non-repeaters
	repeaters   int // varbinds per repetition
	repetitions int // repetitions in vbs
}

// getBulk answers a GetBulkRequest as RFC 3416 §4.2.3 orders it: one
// GETNEXT for each of the first non-repeaters varbinds, then up to
// max-repetitions rounds of one GETNEXT per remaining varbind, each round
// continuing from the previous one. It stops after the first round in
// which every repeater is at endOfMibView.
func (a *SNMPAgent) getBulk(req *gosnmp.SnmpPacket) bulkAnswer {
	n := min(int(req.NonRepeaters), len(req.Variables))
	r := len(req.Variables) - n
	m := int(min(req.MaxRepetitions, agentMaxRepetitions))
	if r == 0 {
		m = 0
	}
	ans := bulkAnswer{nonRep: n, repeaters: r, vbs: make([]gosnmp.SnmpPDU, 0, n+r*min(m, 64))}

	a.mu.Lock()
	defer a.mu.Unlock()
	// next[k] is the index of the object that follows varbind k's name.
	next := make([]int, len(req.Variables))
	names := make([]string, len(req.Variables))
	for k, vb := range req.Variables {
		names[k] = vb.Name
		next[k] = a.afterName(vb.Name)
	}
	step := func(k int) bool {
		if next[k] >= len(a.objs) {
			ans.vbs = append(ans.vbs, gosnmp.SnmpPDU{Name: names[k], Type: gosnmp.EndOfMibView})
			return false
		}
		pdu := a.objs[next[k]].pdu
		ans.vbs = append(ans.vbs, pdu)
		names[k] = pdu.Name
		next[k]++
		return true
	}
	for k := range n {
		step(k)
	}
	for range m {
		more := false
		for k := n; k < n+r; k++ {
			if step(k) {
				more = true
			}
		}
		ans.repetitions++
		if !more {
			break
		}
	}
	return ans
}

// after is the index of the first object strictly after arcs. Callers hold
// a.mu.
func (a *SNMPAgent) after(arcs []uint32) int {
	i, found := slices.BinarySearchFunc(a.objs, arcs, compareObject)
	if found {
		i++
	}
	return i
}

// afterName is after for an OID a client sent: past the end when it is not
// a numeric OID. Callers hold a.mu.
func (a *SNMPAgent) afterName(oid string) int {
	arcs, err := parseArcs(oid)
	if err != nil {
		return len(a.objs)
	}
	return a.after(arcs)
}

// v1Error turns resp into an SNMPv1 error response: the error status, the
// 1-based index of the failing varbind, and the request's varbinds echoed.
func v1Error(req, resp *gosnmp.SnmpPacket, status gosnmp.SNMPError, i int) {
	resp.Error = status
	// gosnmp holds the error-index in a uint8; requests of more than 255
	// varbinds (gosnmp clients send at most MaxOids, 60) cannot name theirs.
	resp.ErrorIndex = uint8(min(i+1, math.MaxUint8))
	resp.Variables = req.Variables
}

// encodeBulk encodes a GetBulk response shorter than agentMaxResponse
// bytes: it drops trailing repetitions and, when even the non-repeaters do
// not fit, trailing non-repeaters, down to no varbinds at all (RFC 3416
// §4.2.3 answers GetBulk with fewer varbinds, never with tooBig).
func encodeBulk(resp *gosnmp.SnmpPacket, ans bulkAnswer) []byte {
	encode := func(k int) []byte {
		resp.Variables = ans.vbs[:k]
		out, err := marshalPacket(resp)
		if err != nil || len(out) >= agentMaxResponse {
			return nil
		}
		return out
	}
	if out := encode(len(ans.vbs)); out != nil {
		return out
	}
	// The response grows with every varbind: binary-search the most whole
	// repetitions that fit, or failing that the most non-repeaters.
	size := func(i int) int { return ans.nonRep + i*ans.repeaters }
	hi := ans.repetitions - 1
	if encode(size(0)) == nil {
		size = func(i int) int { return i }
		hi = ans.nonRep - 1
	}
	lo := 0 // size(lo) fits; the answer lies in [lo, hi]
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if encode(size(mid)) != nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return encode(size(lo))
}

// encodeResponse encodes resp, or a tooBig response when resp would be too
// long (RFC 3416 §4.2.1). It returns nil when resp cannot be encoded.
func encodeResponse(resp *gosnmp.SnmpPacket) []byte {
	out, err := marshalPacket(resp)
	if err != nil {
		return nil
	}
	if len(out) >= agentMaxResponse {
		return encodeTooBig(resp)
	}
	return out
}

// encodeTooBig encodes resp as a tooBig error with no varbinds.
func encodeTooBig(resp *gosnmp.SnmpPacket) []byte {
	resp.Error, resp.ErrorIndex, resp.Variables = gosnmp.TooBig, 0, nil
	out, err := marshalPacket(resp)
	if err != nil {
		return nil
	}
	return out
}

// marshalPacket is MarshalMsg that turns a panic (gosnmp asserts value
// types while encoding) into an error.
func marshalPacket(p *gosnmp.SnmpPacket) ([]byte, error) {
	return noPanic("encode snmp packet", p.MarshalMsg)
}

// decodeRequest is SnmpDecodePacket that turns a panic on a malformed
// datagram into an error.
func decodeRequest(dec *gosnmp.GoSNMP, b []byte) (*gosnmp.SnmpPacket, error) {
	return noPanic("decode snmp packet", func() (*gosnmp.SnmpPacket, error) { return dec.SnmpDecodePacket(b) })
}

// noPanic runs f, prefixing its error, or the panic it raised, with what.
func noPanic[T any](what string, f func() (T, error)) (out T, err error) {
	var zero T
	defer func() {
		if r := recover(); r != nil {
			out, err = zero, fmt.Errorf("%s: %v", what, r)
		}
	}()
	out, err = f()
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// peekSNMPVersion reads the version field at the start of an SNMP message:
// SEQUENCE { INTEGER version, ... }.
func peekSNMPVersion(b []byte) (gosnmp.SnmpVersion, bool) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, false
	}
	i := 2
	if b[1]&0x80 != 0 {
		i += int(b[1] & 0x7f)
	}
	if len(b) < i+3 || b[i] != byte(gosnmp.Integer) || b[i+1] != 1 {
		return 0, false
	}
	return gosnmp.SnmpVersion(b[i+2]), true
}

// newAgentObject validates and normalises one object for Set.
func newAgentObject(oid string, typ gosnmp.Asn1BER, value any) (agentObject, error) {
	arcs, err := parseArcs(oid)
	if err != nil {
		return agentObject{}, err
	}
	if len(arcs) < 2 {
		return agentObject{}, fmt.Errorf("OID %q has fewer than two arcs", oid)
	}
	v, err := agentValue(typ, value)
	if err != nil {
		return agentObject{}, fmt.Errorf("%v value %#v: %w", typ, value, err)
	}
	obj := agentObject{arcs: arcs, pdu: gosnmp.SnmpPDU{Name: formatArcs(arcs), Type: typ, Value: v}}
	// Encode it once now, so that a value gosnmp cannot encode fails the
	// test at Set rather than silently breaking a later response.
	probe := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{obj.pdu}}
	if _, err := marshalPacket(probe); err != nil {
		return agentObject{}, fmt.Errorf("%v value %#v: %w", typ, value, err)
	}
	return obj, nil
}

// agentValue converts value to the Go type gosnmp encodes for typ.
func agentValue(typ gosnmp.Asn1BER, value any) (any, error) {
	switch typ {
	case gosnmp.Integer:
		n, ok := asInt64(value)
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return nil, errors.New("want an integer in the Integer32 range")
		}
		return int(n), nil
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Uinteger32:
		n, ok := asUint64(value)
		if !ok || n > math.MaxUint32 {
			return nil, errors.New("want an integer in 0..4294967295")
		}
		return uint32(n), nil
	case gosnmp.Counter64:
		n, ok := asUint64(value)
		if !ok {
			return nil, errors.New("want a non-negative integer")
		}
		return n, nil
	case gosnmp.OctetString, gosnmp.BitString, gosnmp.Opaque:
		switch v := value.(type) {
		case string:
			return v, nil
		case []byte:
			return append([]byte{}, v...), nil
		}
		return nil, errors.New("want a string or []byte")
	case gosnmp.ObjectIdentifier:
		s, ok := value.(string)
		if !ok {
			return nil, errors.New("want a numeric OID string")
		}
		arcs, err := parseArcs(s)
		if err != nil {
			return nil, err
		}
		return formatArcs(arcs), nil
	case gosnmp.IPAddress:
		var addr netip.Addr
		switch v := value.(type) {
		case string:
			addr, _ = netip.ParseAddr(v)
		case net.IP:
			addr, _ = netip.AddrFromSlice(v.To4())
		case []byte:
			addr, _ = netip.AddrFromSlice(v)
		}
		if !addr.Is4() {
			return nil, errors.New("want an IPv4 address (string, 4-byte []byte or net.IP)")
		}
		b := addr.As4()
		return b[:], nil
	case gosnmp.Null:
		if value != nil {
			return nil, errors.New("want nil")
		}
		return nil, nil
	case gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		return value, nil // marshalling checks float32 / float64
	}
	return nil, errors.New("not a type an agent serves")
}

// asInt64 returns value as an int64 when it is a Go integer that fits.
func asInt64(value any) (int64, bool) {
	v := reflect.ValueOf(value)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if v.Uint() > math.MaxInt64 {
			return 0, false
		}
		return int64(v.Uint()), true
	}
	return 0, false
}

// asUint64 returns value as a uint64 when it is a non-negative Go integer.
func asUint64(value any) (uint64, bool) {
	v := reflect.ValueOf(value)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() < 0 {
			return 0, false
		}
		return uint64(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint(), true
	}
	return 0, false
}

// parseArcs parses a numeric OID, leading dot optional, into its arcs.
func parseArcs(oid string) ([]uint32, error) {
	s := strings.TrimPrefix(oid, ".")
	if s == "" {
		return nil, fmt.Errorf("OID %q is empty", oid)
	}
	parts := strings.Split(s, ".")
	arcs := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("OID %q: arc %q is not a number in 0..4294967295", oid, p)
		}
		arcs[i] = uint32(n)
	}
	return arcs, nil
}

// formatArcs is the dotted form gosnmp uses for OIDs: ".1.3.6.1".
func formatArcs(arcs []uint32) string {
	b := make([]byte, 0, 4*len(arcs))
	for _, n := range arcs {
		b = append(b, '.')
		b = strconv.AppendUint(b, uint64(n), 10)
	}
	return string(b)
}

// compareObject orders objects by OID, arc by arc as integers (a shorter
// OID comes before the OIDs below it).
func compareObject(o agentObject, arcs []uint32) int { return slices.Compare(o.arcs, arcs) }

// hasArcPrefix reports whether arcs is prefix or lies below it.
func hasArcPrefix(arcs, prefix []uint32) bool {
	return len(arcs) >= len(prefix) && slices.Equal(arcs[:len(prefix)], prefix)
}
