// Command module is zappy's built-in check module: ping, tcp, udp, http,
// quic, cert and the SNMP device monitors ports, port and host, written
// with the guest SDK (sdk/go) exactly as a user's
// custom check would be. Build it with `make builtins`.
package main

import (
	"strconv"

	"github.com/zappy-mon/zappy/builtin/internal/version"
	"github.com/zappy-mon/zappy/internal/payload"
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

// sendBytes decodes the `send` field per `content_type` (text, hex,
// base64), as the configuration loader checked it.
func sendBytes(c *zappy.Check) ([]byte, error) {
	b, err := payload.Decode(c.Config.Get("send").Str(), c.Config.Get("content_type").Str())
	if err != nil {
		return nil, invalid(err.Error())
	}
	return b, nil
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
