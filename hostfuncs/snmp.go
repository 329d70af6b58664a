package hostfuncs

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
)

// SNMP operations accepted in SNMPRequest.Op.
const (
	SNMPOpGet      = "get"      // GET of every OID in the request
	SNMPOpGetNext  = "getnext"  // one GETNEXT of every OID in the request
	SNMPOpWalk     = "walk"     // GETNEXT walk of each root OID
	SNMPOpBulkWalk = "bulkwalk" // GETBULK walk of each root OID (GETNEXT on SNMPv1)
)

// Defaults and bounds of SNMPRequest.
const (
	snmpDefaultPort           = 161
	snmpDefaultTimeout        = 2 * time.Second
	snmpDefaultRetries        = 1
	snmpMaxRetries            = 10
	snmpDefaultMaxRepetitions = 25
	snmpMaxMaxRepetitions     = 1000
	snmpDefaultMaxVarbinds    = 10000
	snmpMaxOIDsPerPDU         = gosnmp.MaxOids
)

// SNMPRequest asks an SNMP agent for values. It is the wire format of the
// snmp host function, so every field is plain JSON.
//
// Version 3 security: the level is derived from the passphrases that are set
// (none: noAuthNoPriv, auth only: authNoPriv, both: authPriv) unless
// SecurityLevel names it. An auth passphrase without a protocol means SHA, a
// priv passphrase without a protocol means AES.
type SNMPRequest struct {
	// Address is host, host:port, [v6]:port or snmp://host[:port]; the port defaults to 161.
	Address string `json:"address"`
	// Version is "1", "2c" (default) or "3"; "v1", "v2c", "2", "v3" are accepted too.
	Version string `json:"version,omitempty"`
	// Community is the v1/v2c community; default "public".
	Community string `json:"community,omitempty"`

	Username       string `json:"username,omitempty"`
	AuthProtocol   string `json:"auth_protocol,omitempty"` // MD5, SHA, SHA224, SHA256, SHA384, SHA512 (any case)
	AuthPassphrase string `json:"auth_passphrase,omitempty"`
	PrivProtocol   string `json:"priv_protocol,omitempty"` // DES, AES, AES192, AES256, AES192C, AES256C (any case)
	PrivPassphrase string `json:"priv_passphrase,omitempty"`
	ContextName    string `json:"context_name,omitempty"`
	SecurityLevel  string `json:"security_level,omitempty"` // noAuthNoPriv, authNoPriv, authPriv (any case); optional

	// Op is get (default), getnext, walk or bulkwalk.
	Op string `json:"op,omitempty"`
	// OIDs are numeric OIDs, leading dot optional; for walk and bulkwalk the
	// roots of the subtrees. At most 60 for get and getnext.
	OIDs []string `json:"oids"`

	// TimeoutMS bounds each request PDU (not the whole walk); 0 means 2000.
	// The ctx deadline bounds the whole operation.
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// Retries is how often an unanswered request is sent again; 0 means 1,
	// a negative value means no retry, at most 10.
	Retries int `json:"retries,omitempty"`
	// MaxRepetitions is the GETBULK max-repetitions; 0 means 25, at most 1000.
	MaxRepetitions int `json:"max_repetitions,omitempty"`
	// MaxVarbinds caps the varbinds returned (walks stop with code limit
	// when a subtree holds more); 0 means 10000.
	MaxVarbinds int `json:"max_varbinds,omitempty"`
	// Columns (walk and bulkwalk only) returns each root's subtree as a
	// column (SNMPResponse.Columns) instead of varbinds: the root is not
	// repeated in every OID, which makes walks of whole tables several
	// times smaller to encode and to read.
	Columns bool `json:"columns,omitempty"`
}

// SNMPVarbind is one returned variable binding.
//
// Value is an int64 for Integer, a uint64 for Counter32, Gauge32, TimeTicks,
// Uinteger32 and Counter64 (exact, JSON numbers), a string for OctetString
// (the text when it is printable UTF-8, else colon-hex), ObjectIdentifier
// (dotted, leading dot) and IPAddress, a float64 for OpaqueFloat and
// OpaqueDouble, a colon-hex string for Opaque, and nil for Null, NoSuchObject,
// NoSuchInstance and EndOfMibView. Hex holds the raw bytes of OctetString and
// Opaque values as lower-case colon-hex ("18:e8:29:45:f8:f7"), so MAC
// addresses are exact whatever the text looks like; it is empty only for an
// empty string.
type SNMPVarbind struct {
	OID   string `json:"oid"`  // numeric, leading dot
	Type  string `json:"type"` // Integer, OctetString, Null, ObjectIdentifier, IPAddress, Counter32, Gauge32, TimeTicks, Opaque, Counter64, Uinteger32, OpaqueFloat, OpaqueDouble, NoSuchObject, NoSuchInstance, EndOfMibView, Unknown
	Value any    `json:"value"`
	Hex   string `json:"hex,omitempty"`
}

// SNMPColumn is the subtree of one walked root, row by row: row i is the
// object Root + "." + Index[i], of type Type (or Types[i] when the rows'
// types differ), with value Values[i] and, for OctetString and Opaque
// rows, raw bytes Hex[i] (as in SNMPVarbind).
type SNMPColumn struct {
	Root   string   `json:"root"`
	Index  []string `json:"index"`
	Type   string   `json:"type,omitempty"`
	Types  []string `json:"types,omitempty"`
	Values []any    `json:"values"`
	Hex    []string `json:"hex,omitempty"`
}

// SNMPResponse is what the agent returned.
type SNMPResponse struct {
	// Varbinds are the answers, unless the request asked for Columns.
	Varbinds []SNMPVarbind `json:"varbinds"`
	// Columns are the walked subtrees when the request asked for them, in
	// the order of the request's roots (empty subtrees included).
	Columns   []SNMPColumn `json:"columns,omitempty"`
	ElapsedMS float64      `json:"elapsed_ms"`
	// Requests counts the request PDUs sent, including retries and SNMPv3
	// engine discovery.
	Requests int `json:"requests"`
	// Bulk reports whether GETBULK was used (false for a bulkwalk on SNMPv1,
	// which falls back to GETNEXT).
	Bulk bool `json:"bulk"`
}

// snmpParams is a validated SNMPRequest.
type snmpParams struct {
	host        string
	port        uint16
	addr        string // host:port, for messages
	version     gosnmp.SnmpVersion
	community   string
	user        string
	level       gosnmp.SnmpV3MsgFlags
	auth        gosnmp.SnmpV3AuthProtocol
	authName    string
	authPass    string
	priv        gosnmp.SnmpV3PrivProtocol
	privName    string
	privPass    string
	contextName string
	op          string
	oids        []string // normalized, leading dot
	timeout     time.Duration
	retries     int
	maxReps     uint32
	maxVarbinds int
	columns     bool
}

// SNMP performs one SNMP operation (get, getnext, walk or bulkwalk) against
// the agent at req.Address and returns the varbinds it answered.
//
// A GET of an OID the agent does not have is not an error: it comes back as a
// NoSuchObject or NoSuchInstance varbind, on SNMPv1 too (the noSuchName error
// is converted and the request retried without that OID), so that modules can
// fall back to other OIDs. A walk of a leaf instance OID returns that instance,
// like snmpwalk. Walks stop with an error when the agent answers with an error
// status or with OIDs that do not increase, instead of returning a silently
// truncated table.
//
// No response is code timeout (snmpd drops requests with a wrong community
// without answering, so the message says so); SNMPv3 USM reports (unknown
// user, wrong digest, decryption error, unsupported security level) are code
// protocol with a message naming the cause; a malformed request is code
// invalid. Decoding panics inside gosnmp are recovered and reported as
// protocol errors.
func SNMP(ctx context.Context, req SNMPRequest) (resp SNMPResponse, err error) {
	start := time.Now()
	resp.Varbinds = []SNMPVarbind{}
	p, err := parseSNMPRequest(req)
	if err != nil {
		return resp, err
	}
	s := &snmpSession{ctx: ctx, p: p}
	defer func() {
		if r := recover(); r != nil {
			err = Errorf(CodeProtocol, "snmp %s: malformed answer from the agent: %v", p.addr, r)
		}
		resp.ElapsedMS = durationMS(time.Since(start))
		resp.Requests = s.requests
	}()
	if err := ctx.Err(); err != nil {
		return resp, s.ctxError(err)
	}
	if err := s.connect(); err != nil {
		return resp, err
	}
	defer s.close()

	switch p.op {
	case SNMPOpGet, SNMPOpGetNext:
		vbs, err := s.get(p.op == SNMPOpGetNext, p.oids)
		if err != nil {
			return resp, err
		}
		for _, v := range vbs {
			if err := s.add(&resp, v); err != nil {
				return resp, err
			}
		}
	case SNMPOpWalk, SNMPOpBulkWalk:
		resp.Bulk = p.op == SNMPOpBulkWalk && p.version != gosnmp.Version1
		for _, root := range p.oids {
			from := len(resp.Varbinds)
			if err := s.walk(&resp, root, resp.Bulk); err != nil {
				return resp, err
			}
			if p.columns {
				resp.Columns = append(resp.Columns, toColumn(root, resp.Varbinds[from:]))
			}
		}
		if p.columns {
			resp.Varbinds = []SNMPVarbind{}
		}
	}
	return resp, nil
}

// snmpSession is one SNMP() call: a gosnmp client and its counters.
type snmpSession struct {
	ctx      context.Context
	p        snmpParams
	g        *gosnmp.GoSNMP
	conn     *snmpConn
	stop     func() bool
	requests int // request PDUs sent (gosnmp OnSent)
	answered int // request PDUs that got a usable answer
}

// snmpConn remembers the last datagram gosnmp read. gosnmp drops an
// unauthenticated SNMPv3 report (unknown user, wrong digest) as "not
// authentic" without saying what it reported; the datagram tells.
type snmpConn struct {
	net.Conn
	last     []byte // aliases gosnmp's receive buffer; valid until its next read
	received int
}

func (c *snmpConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.last = b[:n]
		c.received++
	}
	return n, err
}

func (s *snmpSession) connect() error {
	p := s.p
	g := &gosnmp.GoSNMP{
		Target:         p.host,
		Port:           p.port,
		Transport:      "udp",
		Community:      p.community,
		Version:        p.version,
		Context:        s.ctx,
		Timeout:        p.timeout,
		Retries:        p.retries,
		MaxOids:        snmpMaxOIDsPerPDU,
		MaxRepetitions: p.maxReps,
		OnSent:         func(*gosnmp.GoSNMP) { s.requests++ },
	}
	if p.version == gosnmp.Version3 {
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = p.level
		g.ContextName = p.contextName
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 p.user,
			AuthenticationProtocol:   p.auth,
			AuthenticationPassphrase: p.authPass,
			PrivacyProtocol:          p.priv,
			PrivacyPassphrase:        p.privPass,
		}
	}
	if err := g.Connect(); err != nil {
		if ctxErr := s.ctx.Err(); ctxErr != nil {
			return s.ctxError(ctxErr)
		}
		var netErr *net.OpError
		if errors.As(err, &netErr) {
			return netFailure(s.ctx, netErr, "snmp "+p.addr)
		}
		return Errorf(CodeInvalid, "snmp %s: %v", p.addr, err)
	}
	// Not a net.PacketConn, so gosnmp reads through Read.
	conn := &snmpConn{Conn: g.Conn}
	g.Conn = conn
	s.g, s.conn = g, conn
	// gosnmp only looks at the context between attempts; closing the socket
	// makes a cancellation interrupt a pending read at once.
	s.stop = context.AfterFunc(s.ctx, func() { conn.Close() })
	return nil
}

func (s *snmpSession) close() {
	s.stop()
	s.conn.Close()
}

// add appends v to resp, enforcing the max_varbinds cap.
func (s *snmpSession) add(resp *SNMPResponse, v SNMPVarbind) error {
	if len(resp.Varbinds) >= s.p.maxVarbinds {
		return Errorf(CodeLimit, "snmp %s: more than %d varbinds (max_varbinds)", s.p.addr, s.p.maxVarbinds)
	}
	resp.Varbinds = append(resp.Varbinds, v)
	return nil
}

// get sends one GET (or GETNEXT) of oids and returns one varbind per OID. On
// SNMPv1 a noSuchName error status names the failing OID: it becomes a
// NoSuchObject (EndOfMibView for GETNEXT) varbind and the others are asked
// again, so callers see the same result as on v2c.
func (s *snmpSession) get(next bool, oids []string) ([]SNMPVarbind, error) {
	out := make([]SNMPVarbind, len(oids))
	pending := make([]int, len(oids))
	for i := range pending {
		pending[i] = i
	}
	for len(pending) > 0 {
		ask := make([]string, len(pending))
		for i, idx := range pending {
			ask[i] = oids[idx]
		}
		var pkt *gosnmp.SnmpPacket
		var err error
		if next {
			pkt, err = s.g.GetNext(ask)
		} else {
			pkt, err = s.g.Get(ask)
		}
		if err != nil {
			return nil, s.fail(err)
		}
		s.answered++
		if pkt.Error == gosnmp.NoSuchName && s.p.version == gosnmp.Version1 &&
			int(pkt.ErrorIndex) >= 1 && int(pkt.ErrorIndex) <= len(pending) {
			at := int(pkt.ErrorIndex) - 1
			idx := pending[at]
			typ := "NoSuchObject"
			if next {
				typ = "EndOfMibView"
			}
			out[idx] = SNMPVarbind{OID: oids[idx], Type: typ}
			pending = append(pending[:at], pending[at+1:]...)
			continue
		}
		if pkt.Error != gosnmp.NoError {
			return nil, s.statusError(pkt, ask)
		}
		if len(pkt.Variables) != len(pending) {
			return nil, Errorf(CodeProtocol, "snmp %s: agent answered %d varbinds for %d OIDs", s.p.addr, len(pkt.Variables), len(pending))
		}
		for i, idx := range pending {
			out[idx] = convertVarbind(pkt.Variables[i])
		}
		break
	}
	return out, nil
}

// walk appends the subtree under root to resp using GETBULK (bulk) or GETNEXT.
func (s *snmpSession) walk(resp *SNMPResponse, root string, bulk bool) error {
	prefix := root + "."
	last := root
	found := 0
	for {
		var pkt *gosnmp.SnmpPacket
		var err error
		if bulk {
			pkt, err = s.g.GetBulk([]string{last}, 0, s.p.maxReps)
		} else {
			pkt, err = s.g.GetNext([]string{last})
		}
		if err != nil {
			return s.fail(err)
		}
		s.answered++
		if pkt.Error != gosnmp.NoError {
			if pkt.Error == gosnmp.NoSuchName && s.p.version == gosnmp.Version1 {
				break // SNMPv1 end of MIB view
			}
			return s.statusError(pkt, []string{last})
		}
		if len(pkt.Variables) == 0 {
			break
		}
		done := false
		for _, pdu := range pkt.Variables {
			if pdu.Type == gosnmp.EndOfMibView || pdu.Type == gosnmp.NoSuchObject || pdu.Type == gosnmp.NoSuchInstance ||
				!strings.HasPrefix(pdu.Name, prefix) {
				done = true
				break
			}
			if compareOIDs(pdu.Name, last) <= 0 {
				return Errorf(CodeProtocol, "snmp %s: agent returned OIDs out of order (%s after %s)", s.p.addr, pdu.Name, last)
			}
			if err := s.add(resp, convertVarbind(pdu)); err != nil {
				return err
			}
			last = pdu.Name
			found++
		}
		if done {
			break
		}
	}
	if found == 0 {
		// Like snmpwalk: a root that is itself an instance has no subtree,
		// so ask for it directly.
		vbs, err := s.get(false, []string{root})
		if err != nil {
			return err
		}
		if t := vbs[0].Type; t != "NoSuchObject" && t != "NoSuchInstance" && t != "EndOfMibView" {
			return s.add(resp, vbs[0])
		}
	}
	return nil
}

// USM report OIDs (RFC 3414).
const (
	usmStatsUnsupportedSecLevels = ".1.3.6.1.6.3.15.1.1.1.0"
	usmStatsUnknownUserNames     = ".1.3.6.1.6.3.15.1.1.3.0"
	usmStatsWrongDigests         = ".1.3.6.1.6.3.15.1.1.5.0"
	usmStatsDecryptionErrors     = ".1.3.6.1.6.3.15.1.1.6.0"
)

// lastReport decodes the last datagram received as an SNMPv3 report and
// returns the OID it reports, or "".
func (s *snmpSession) lastReport() (oid string) {
	if s.conn == nil || len(s.conn.last) == 0 {
		return ""
	}
	defer func() {
		if recover() != nil {
			oid = ""
		}
	}()
	d := &gosnmp.GoSNMP{
		Version:            gosnmp.Version3,
		SecurityModel:      gosnmp.UserSecurityModel,
		MsgFlags:           gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: s.p.user},
	}
	pkt, err := d.SnmpDecodePacket(slices.Clone(s.conn.last))
	if err != nil || pkt.PDUType != gosnmp.Report || len(pkt.Variables) == 0 {
		return ""
	}
	return pkt.Variables[0].Name
}

// statusError describes an error-status in a response PDU.
func (s *snmpSession) statusError(pkt *gosnmp.SnmpPacket, asked []string) error {
	oid := ""
	if i := int(pkt.ErrorIndex); i >= 1 && i <= len(asked) {
		oid = " for " + asked[i-1]
	}
	msg := fmt.Sprintf("snmp %s: agent answered error-status %s%s", s.p.addr, pkt.Error, oid)
	switch pkt.Error {
	case gosnmp.TooBig:
		msg += " (response too big: ask for fewer OIDs or lower max_repetitions)"
	case gosnmp.AuthorizationError, gosnmp.NoAccess:
		if s.p.version == gosnmp.Version3 {
			msg += fmt.Sprintf(" (access control: security level %s is below what user %q needs, or the OID is outside its view)", levelName(s.p.level), s.p.user)
		} else {
			msg += " (the agent's access control does not allow this OID)"
		}
	}
	return Errorf(CodeProtocol, "%s", msg)
}

// ctxError reports a canceled or expired ctx.
func (s *snmpSession) ctxError(err error) error {
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeCanceled, Message: fmt.Sprintf("snmp %s: canceled", s.p.addr), Err: err}
	}
	return &Error{Code: CodeTimeout, Message: fmt.Sprintf("snmp %s: deadline reached (requests sent: %d, answered: %d)", s.p.addr, s.requests, s.answered), Err: err}
}

// fail converts an error from gosnmp to an *Error naming its cause.
func (s *snmpSession) fail(err error) error {
	p := s.p
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		return s.ctxError(ctxErr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return s.ctxError(err)
	}
	user := fmt.Sprintf("SNMPv3 user %q", p.user)
	v3 := func(format string, args ...any) error {
		return &Error{Code: CodeProtocol, Message: fmt.Sprintf("snmp %s: ", p.addr) + fmt.Sprintf(format, args...), Err: err}
	}
	if p.version == gosnmp.Version3 && strings.Contains(err.Error(), "not authentic") {
		// gosnmp discards unauthenticated reports; read the last one.
		switch s.lastReport() {
		case usmStatsUnknownUserNames:
			err = gosnmp.ErrUnknownUsername
		case usmStatsWrongDigests:
			err = gosnmp.ErrWrongDigest
		case usmStatsDecryptionErrors:
			err = gosnmp.ErrDecryption
		case usmStatsUnsupportedSecLevels:
			err = gosnmp.ErrUnknownSecurityLevel
		default:
			return v3("the agent's answer failed SNMPv3 authentication for %s: wrong auth passphrase or auth protocol %s?", user, p.authName)
		}
	}
	n := fmt.Sprintf("%d attempts", p.retries+1)
	if p.retries == 0 {
		n = "1 attempt"
	}
	attempts := n + ", timeout " + p.timeout.String()
	switch {
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return v3("%s is unknown to the agent (usmStatsUnknownUserNames)", user)
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return v3("authentication failed for %s: wrong auth passphrase or auth protocol %s (usmStatsWrongDigests)", user, p.authName)
	case errors.Is(err, gosnmp.ErrDecryption):
		return v3("decryption failed for %s: wrong priv passphrase or privacy protocol %s (usmStatsDecryptionErrors)", user, p.privName)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return v3("security level %s is not allowed for %s (usmStatsUnsupportedSecLevels)", levelName(p.level), user)
	case errors.Is(err, gosnmp.ErrNotInTimeWindow):
		return v3("request outside the agent's time window (usmStatsNotInTimeWindows)")
	case errors.Is(err, gosnmp.ErrUnknownEngineID):
		return v3("the agent does not know the engine ID (usmStatsUnknownEngineIDs)")
	case errors.Is(err, gosnmp.ErrUnknownSecurityModels), errors.Is(err, gosnmp.ErrInvalidMsgs),
		errors.Is(err, gosnmp.ErrUnknownPDUHandlers), errors.Is(err, gosnmp.ErrUnknownReportPDU):
		return v3("the agent rejected the request: %v", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Error{Code: CodeRefused, Message: fmt.Sprintf("snmp %s: port unreachable after %s — no SNMP agent listening on that port?", p.addr, n), Err: err}
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded), strings.Contains(err.Error(), "timeout"):
		switch {
		case s.answered > 0:
			return &Error{Code: CodeTimeout, Message: fmt.Sprintf("snmp %s: the agent stopped answering: no response after %s (%d requests answered before)", p.addr, attempts, s.answered), Err: err}
		case p.version == gosnmp.Version3 && s.conn.received > 0 && p.level == gosnmp.AuthPriv:
			// snmpd silently drops a PDU it cannot decrypt, but engine
			// discovery (unauthenticated) worked, so the agent is there.
			return v3("the agent answered SNMPv3 engine discovery but dropped every authPriv request (%s): wrong priv passphrase or privacy protocol %s for %s?", attempts, p.privName, user)
		case p.version == gosnmp.Version3 && s.conn.received > 0:
			return &Error{Code: CodeTimeout, Message: fmt.Sprintf("snmp %s: the agent answered SNMPv3 engine discovery but not the request (%s)", p.addr, attempts), Err: err}
		case p.version == gosnmp.Version3:
			return &Error{Code: CodeTimeout, Message: fmt.Sprintf("snmp %s: no response after %s (timeout %s) — agent down or wrong port?", p.addr, n, p.timeout), Err: err}
		}
		return &Error{Code: CodeTimeout, Message: fmt.Sprintf("snmp %s: no response after %s (timeout %s) — agent down, wrong port or wrong community?", p.addr, n, p.timeout), Err: err}
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "recover:") {
		// gosnmp recovered a panic while decoding; drop its stack dump.
		msg, _, _ = strings.Cut(msg, " Stack:")
		return &Error{Code: CodeProtocol, Message: fmt.Sprintf("snmp %s: malformed answer from the agent: %s", p.addr, msg), Err: err}
	}
	code := Classify(err)
	var opErr *net.OpError
	var errno syscall.Errno
	if code == CodeIO && !errors.As(err, &opErr) && !errors.As(err, &errno) {
		// Not a socket error: gosnmp could not make sense of the answer.
		return &Error{Code: CodeProtocol, Message: fmt.Sprintf("snmp %s: malformed answer from the agent: %s", p.addr, msg), Err: err}
	}
	return &Error{Code: code, Message: fmt.Sprintf("snmp %s: %s", p.addr, msg), Err: err}
}

// toColumn turns the varbinds of root's subtree into a column.
func toColumn(root string, vbs []SNMPVarbind) SNMPColumn {
	c := SNMPColumn{Root: root, Index: make([]string, len(vbs)), Values: make([]any, len(vbs))}
	uniform := true
	for i, v := range vbs {
		c.Index[i] = strings.TrimPrefix(v.OID, root+".")
		if v.OID == root {
			c.Index[i] = "" // a walk of a leaf instance returns the instance itself
		}
		c.Values[i] = v.Value
		uniform = uniform && v.Type == vbs[0].Type
		if v.Hex != "" && c.Hex == nil {
			c.Hex = make([]string, len(vbs))
		}
		if c.Hex != nil {
			c.Hex[i] = v.Hex
		}
	}
	switch {
	case len(vbs) == 0:
	case uniform:
		c.Type = vbs[0].Type
	default:
		c.Types = make([]string, len(vbs))
		for i, v := range vbs {
			c.Types[i] = v.Type
		}
	}
	return c
}

// convertVarbind turns a gosnmp PDU into its wire form.
func convertVarbind(pdu gosnmp.SnmpPDU) SNMPVarbind {
	v := SNMPVarbind{OID: pdu.Name}
	if !strings.HasPrefix(v.OID, ".") {
		v.OID = "." + v.OID
	}
	switch pdu.Type {
	case gosnmp.Integer:
		v.Type = "Integer"
		v.Value = toInt64(pdu.Value)
	case gosnmp.OctetString:
		v.Type = "OctetString"
		b, _ := pdu.Value.([]byte)
		v.Hex = colonHex(b)
		if printable(b) {
			v.Value = string(b)
		} else {
			v.Value = v.Hex
		}
	case gosnmp.Null:
		v.Type = "Null"
	case gosnmp.ObjectIdentifier:
		v.Type = "ObjectIdentifier"
		v.Value = pdu.Value
	case gosnmp.IPAddress:
		v.Type = "IPAddress"
		v.Value = pdu.Value // nil for a zero-length address
	case gosnmp.Counter32:
		v.Type = "Counter32"
		v.Value = toUint64(pdu.Value)
	case gosnmp.Gauge32:
		v.Type = "Gauge32"
		v.Value = toUint64(pdu.Value)
	case gosnmp.TimeTicks:
		v.Type = "TimeTicks"
		v.Value = toUint64(pdu.Value)
	case gosnmp.Counter64:
		v.Type = "Counter64"
		v.Value = toUint64(pdu.Value)
	case gosnmp.Uinteger32:
		v.Type = "Uinteger32"
		v.Value = toUint64(pdu.Value)
	case gosnmp.Opaque:
		v.Type = "Opaque"
		b, _ := pdu.Value.([]byte)
		v.Hex = colonHex(b)
		v.Value = v.Hex
	case gosnmp.OpaqueFloat:
		v.Type = "OpaqueFloat"
		f, _ := pdu.Value.(float32)
		v.Value = float64(f)
	case gosnmp.OpaqueDouble:
		v.Type = "OpaqueDouble"
		f, _ := pdu.Value.(float64)
		v.Value = f
	case gosnmp.NoSuchObject:
		v.Type = "NoSuchObject"
	case gosnmp.NoSuchInstance:
		v.Type = "NoSuchInstance"
	case gosnmp.EndOfMibView:
		v.Type = "EndOfMibView"
	default:
		v.Type = "Unknown"
	}
	return v
}

func toInt64(v any) any {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	case int32:
		return int64(n)
	}
	return nil
}

func toUint64(v any) any {
	switch n := v.(type) {
	case uint:
		return uint64(n)
	case uint64:
		return n
	case uint32:
		return uint64(n)
	case int:
		if n >= 0 {
			return uint64(n)
		}
	}
	return nil
}

// colonHex formats b as lower-case colon-separated hex ("18:e8:29").
func colonHex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	out := make([]byte, 0, len(b)*3-1)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = hex.AppendEncode(out, []byte{c})
	}
	return string(out)
}

// printable reports whether b is UTF-8 text without control characters other
// than tab, CR and LF, i.e. whether it can be shown as a string.
func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\t' && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// compareOIDs compares two dotted numeric OIDs arc by arc.
func compareOIDs(a, b string) int {
	i, j := 0, 0
	for {
		x, ni, okA := nextArc(a, i)
		y, nj, okB := nextArc(b, j)
		i, j = ni, nj
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
}

func nextArc(s string, i int) (uint64, int, bool) {
	if i < len(s) && s[i] == '.' {
		i++
	}
	start := i
	var v uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		v = v*10 + uint64(s[i]-'0')
		i++
	}
	return v, i, i > start
}

// normalizeOID checks a numeric OID and returns it with a leading dot.
func normalizeOID(oid string) (string, error) {
	s := strings.TrimPrefix(strings.TrimSpace(oid), ".")
	if s == "" {
		return "", fmt.Errorf("empty OID")
	}
	arcs := strings.Split(s, ".")
	if len(arcs) < 2 {
		return "", fmt.Errorf("OID %q needs at least two arcs", oid)
	}
	if len(arcs) > 128 {
		return "", fmt.Errorf("OID %q has more than 128 arcs", oid)
	}
	for i, a := range arcs {
		if a == "" || strings.TrimLeft(a, "0123456789") != "" {
			return "", fmt.Errorf("OID %q is not numeric (names like sysDescr.0 are not resolved)", oid)
		}
		n, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return "", fmt.Errorf("OID %q: arc %s out of range", oid, a)
		}
		if i == 0 && n > 2 {
			return "", fmt.Errorf("OID %q: first arc must be 0, 1 or 2", oid)
		}
		if i == 1 && arcs[0] != "2" && n > 39 {
			return "", fmt.Errorf("OID %q: second arc must be below 40", oid)
		}
	}
	return "." + s, nil
}

// parseSNMPAddress splits an address into host and port.
func parseSNMPAddress(addr string) (string, uint16, error) {
	a := strings.TrimSpace(addr)
	if a == "" {
		return "", 0, fmt.Errorf("address is empty")
	}
	if strings.Contains(a, "://") {
		u, err := url.Parse(a)
		if err != nil {
			return "", 0, err
		}
		if !strings.EqualFold(u.Scheme, "snmp") {
			return "", 0, fmt.Errorf("scheme %q is not snmp", u.Scheme)
		}
		if u.Path != "" && u.Path != "/" {
			return "", 0, fmt.Errorf("unexpected path %q", u.Path)
		}
		a = u.Host
	}
	host, portStr := a, ""
	if h, p, err := net.SplitHostPort(a); err == nil {
		host, portStr = h, p
	} else if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
		host = a[1 : len(a)-1]
	} else if strings.Count(a, ":") == 1 {
		return "", 0, err
	}
	if host == "" {
		return "", 0, fmt.Errorf("no host")
	}
	port := uint64(snmpDefaultPort)
	if portStr != "" {
		n, err := strconv.ParseUint(portStr, 10, 16)
		if err != nil || n == 0 {
			return "", 0, fmt.Errorf("bad port %q", portStr)
		}
		port = n
	}
	return host, uint16(port), nil
}

func parseSNMPRequest(req SNMPRequest) (snmpParams, error) {
	var p snmpParams
	bad := func(format string, args ...any) (snmpParams, error) {
		return snmpParams{}, Errorf(CodeInvalid, "snmp %s: "+format, append([]any{req.Address}, args...)...)
	}
	host, port, err := parseSNMPAddress(req.Address)
	if err != nil {
		return bad("%v", err)
	}
	p.host, p.port = host, port
	p.addr = net.JoinHostPort(host, strconv.Itoa(int(port)))

	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(strings.TrimSpace(req.Version)), "v")) {
	case "1":
		p.version = gosnmp.Version1
	case "", "2c", "2":
		p.version = gosnmp.Version2c
	case "3":
		p.version = gosnmp.Version3
	default:
		return bad("version %q: want 1, 2c or 3", req.Version)
	}
	p.community = req.Community
	if p.community == "" {
		p.community = "public"
	}
	if p.version == gosnmp.Version3 {
		if err := p.parseV3(req); err != nil {
			return bad("%v", err)
		}
	}

	p.op = strings.ToLower(strings.TrimSpace(req.Op))
	if p.op == "" {
		p.op = SNMPOpGet
	}
	switch p.op {
	case SNMPOpGet, SNMPOpGetNext, SNMPOpWalk, SNMPOpBulkWalk:
	default:
		return bad("op %q: want get, getnext, walk or bulkwalk", req.Op)
	}
	if len(req.OIDs) == 0 {
		return bad("no OIDs given")
	}
	if req.Columns && p.op != SNMPOpWalk && p.op != SNMPOpBulkWalk {
		return bad("columns is for walk and bulkwalk, not %s", p.op)
	}
	p.columns = req.Columns
	if (p.op == SNMPOpGet || p.op == SNMPOpGetNext) && len(req.OIDs) > snmpMaxOIDsPerPDU {
		return bad("%d OIDs in one %s (at most %d)", len(req.OIDs), p.op, snmpMaxOIDsPerPDU)
	}
	for _, o := range req.OIDs {
		n, err := normalizeOID(o)
		if err != nil {
			return bad("%v", err)
		}
		p.oids = append(p.oids, n)
	}

	switch {
	case req.TimeoutMS < 0:
		return bad("timeout_ms %d is negative", req.TimeoutMS)
	case req.TimeoutMS == 0:
		p.timeout = snmpDefaultTimeout
	default:
		p.timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	switch {
	case req.Retries < 0:
		p.retries = 0
	case req.Retries == 0:
		p.retries = snmpDefaultRetries
	case req.Retries > snmpMaxRetries:
		return bad("retries %d: at most %d", req.Retries, snmpMaxRetries)
	default:
		p.retries = req.Retries
	}
	switch {
	case req.MaxRepetitions < 0 || req.MaxRepetitions > snmpMaxMaxRepetitions:
		return bad("max_repetitions %d: want 1..%d", req.MaxRepetitions, snmpMaxMaxRepetitions)
	case req.MaxRepetitions == 0:
		p.maxReps = snmpDefaultMaxRepetitions
	default:
		p.maxReps = uint32(req.MaxRepetitions)
	}
	switch {
	case req.MaxVarbinds < 0:
		return bad("max_varbinds %d is negative", req.MaxVarbinds)
	case req.MaxVarbinds == 0:
		p.maxVarbinds = snmpDefaultMaxVarbinds
	default:
		p.maxVarbinds = req.MaxVarbinds
	}
	return p, nil
}

var (
	snmpAuthProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
		"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA1": gosnmp.SHA,
		"SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
	}
	snmpPrivProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
		"DES": gosnmp.DES, "AES": gosnmp.AES, "AES128": gosnmp.AES,
		"AES192": gosnmp.AES192, "AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
	}
)

// parseV3 fills in the SNMPv3 user and security level.
func (p *snmpParams) parseV3(req SNMPRequest) error {
	p.user = req.Username
	if p.user == "" {
		return fmt.Errorf("version 3 needs a username")
	}
	p.contextName = req.ContextName
	p.authPass, p.privPass = req.AuthPassphrase, req.PrivPassphrase

	switch strings.ToLower(strings.TrimSpace(req.SecurityLevel)) {
	case "":
		switch {
		case p.privPass != "":
			p.level = gosnmp.AuthPriv
		case p.authPass != "":
			p.level = gosnmp.AuthNoPriv
		default:
			p.level = gosnmp.NoAuthNoPriv
		}
	case "noauthnopriv":
		p.level = gosnmp.NoAuthNoPriv
	case "authnopriv":
		p.level = gosnmp.AuthNoPriv
	case "authpriv":
		p.level = gosnmp.AuthPriv
	default:
		return fmt.Errorf("security_level %q: want noAuthNoPriv, authNoPriv or authPriv", req.SecurityLevel)
	}

	p.auth, p.priv = gosnmp.NoAuth, gosnmp.NoPriv
	if p.level&gosnmp.AuthNoPriv != 0 {
		if p.authPass == "" {
			return fmt.Errorf("security level %s needs auth_passphrase", levelName(p.level))
		}
		name := normalizeProtoName(req.AuthProtocol, "SHA")
		a, ok := snmpAuthProtocols[name]
		if !ok {
			return fmt.Errorf("auth_protocol %q: want MD5, SHA, SHA224, SHA256, SHA384 or SHA512", req.AuthProtocol)
		}
		p.auth, p.authName = a, name
	} else {
		p.authPass = ""
	}
	if p.level == gosnmp.AuthPriv {
		if p.privPass == "" {
			return fmt.Errorf("security level authPriv needs priv_passphrase")
		}
		name := normalizeProtoName(req.PrivProtocol, "AES")
		pr, ok := snmpPrivProtocols[name]
		if !ok {
			return fmt.Errorf("priv_protocol %q: want DES, AES, AES192, AES256, AES192C or AES256C", req.PrivProtocol)
		}
		p.priv, p.privName = pr, name
	} else {
		p.privPass = ""
	}
	return nil
}

// normalizeProtoName upper-cases a protocol name and drops dashes, so that
// "sha-256" and "SHA256" are the same; empty gives def.
func normalizeProtoName(s, def string) string {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", ""))
	if s == "" {
		return def
	}
	return s
}

func levelName(l gosnmp.SnmpV3MsgFlags) string {
	switch l & gosnmp.AuthPriv {
	case gosnmp.AuthPriv:
		return "authPriv"
	case gosnmp.AuthNoPriv:
		return "authNoPriv"
	}
	return "noAuthNoPriv"
}
