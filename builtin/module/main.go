// Command module is zappy's built-in check module: ping, tcp, udp, http,
// quic, cert and the SNMP device monitors ports, port and host, written
// with the guest SDK (sdk/go) exactly as a user's
// custom check would be. Build it with `make builtins`.
package main

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/zappy-mon/zappy/builtin/internal/version"
	zappy "github.com/zappy-mon/zappy/sdk/go"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

func init() {
	zappy.Module("builtin", version.Version)
	zappy.Register(zappy.Type{Name: "ping", Description: "ICMP echo", Schema: pingSchema, Capabilities: []string{"icmp"}}, checkPing)
	zappy.RegisterThen(zappy.Type{Name: "tcp", Description: "TCP connect, optional send and expect", Schema: tcpSchema, Capabilities: []string{"tcp"}}, checkTCP)
	zappy.Register(zappy.Type{Name: "udp", Description: "UDP send and reply", Schema: udpSchema, Capabilities: []string{"udp"}}, checkUDP)
	zappy.Register(zappy.Type{Name: "http", Description: "HTTP(S) request", Schema: httpSchema, Capabilities: []string{"http"}}, checkHTTP)
	zappy.Register(zappy.Type{Name: "quic", Description: "HTTP/3 request over QUIC", Schema: httpSchema, Capabilities: []string{"http3"}}, checkQUIC)
	zappy.Register(zappy.Type{Name: "cert", Description: "TLS certificate validity, expiry and pinning", Schema: certSchema, Capabilities: []string{"tls", "tcp"}}, checkCert)
	zappy.Register(zappy.Type{Name: "ports", Description: "SNMP switch/router: interface states, MAC changes, traffic, CPU and memory", Schema: portsSchema, Capabilities: []string{"snmp"}}, checkPorts)
	zappy.Register(zappy.Type{Name: "port", Description: "SNMP switch port pinned to one MAC address", Schema: portSchema, Capabilities: []string{"snmp"}}, checkPort)
	zappy.Register(zappy.Type{Name: "host", Description: "SNMP host performance: CPU, memory, swap, disk", Schema: hostSchema, Capabilities: []string{"snmp"}}, checkHost)
}

func main() {}

// payload decodes the `send` field per `content_type` (text, hex, base64) as
// APMonitor does: hex ignores spaces and colons.
func payload(c *zappy.Check) ([]byte, error) {
	send := c.Config.Get("send").Str()
	switch ct := strings.ToLower(c.Config.Get("content_type").StrOr("text")); ct {
	case "", "text":
		return []byte(send), nil
	case "hex":
		clean := strings.NewReplacer(" ", "", ":", "", "\n", "", "\t", "").Replace(send)
		b, err := decodeHex(clean)
		if err != nil {
			return nil, invalid("send is not valid hex: " + err.Error())
		}
		return b, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(send))
		if err != nil {
			return nil, invalid("send is not valid base64: " + err.Error())
		}
		return b, nil
	default:
		return nil, invalid("content_type " + strconv.Quote(ct) + ": want text, hex or base64")
	}
}

// decodeHex is encoding/hex's DecodeString without the package, which
// brings fmt (and its reflection) into the module.
func decodeHex(s string) ([]byte, error) {
	if len(s)%2 == 1 {
		return nil, errors.New("odd length hex string")
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			bad := s[2*i]
			if ok1 {
				bad = s[2*i+1]
			}
			return nil, errors.New("invalid byte " + strconv.QuoteRune(rune(bad)))
		}
		b[i] = hi<<4 | lo
	}
	return b, nil
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// invalid is a configuration error. The module does not use fmt: it would
// add 0.3 MB to the module, which every start decodes and validates.
func invalid(msg string) error {
	return &zappy.Error{Code: "invalid", Message: msg}
}

// quote shows received bytes to an operator: printable text as is (up to
// 120 characters), anything else escaped.
func quote(b []byte) string {
	s := string(b)
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strconv.Quote(s)
}

func fmtMS(v float64) string {
	var buf [32]byte
	return string(appendMS(buf[:0], v))
}

// appendMS appends "N ms".
func appendMS(b []byte, v float64) []byte { return append(zjson.AppendDecimal(b, v), " ms"...) }

// truthy reads APMonitor's boolean spellings with a default.
func truthy(c *zappy.Check, key string, def bool) bool { return c.Config.Get(key).BoolOr(def) }
