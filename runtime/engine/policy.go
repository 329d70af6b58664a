package engine

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Policy is the sandbox a module runs under. The zero value gives the
// defaults documented on each field.
type Policy struct {
	// Trusted modules are compiled without wazero's termination checks:
	// a tight loop cannot be interrupted, but every call runs ~3x faster
	// (docs/PERFORMANCE.md). Only the bundled built-ins are trusted.
	Trusted bool
	// MemoryLimitPages caps linear memory (64 KiB pages). Default 4096
	// (256 MiB) for multiplexed modules, 512 (32 MiB) for blocking ones; at
	// most 65535 (a full 4 GiB memory's size does not fit the 32 bits
	// through which wazero reports and checks it).
	MemoryLimitPages uint32
	// MaxResultBytes caps the JSON a check returns. Default 1 MiB.
	MaxResultBytes int
	// MaxResponseBytes caps any payload a primitive reads from the network
	// for the module (HTTP bodies, TCP reads, UDP replies). Default 4 MiB.
	MaxResponseBytes int64
	// MaxHandles caps open connections per check. Default 16.
	MaxHandles int
	// MaxOpsInFlight caps concurrent primitive operations per check. Default 64.
	MaxOpsInFlight int
	// MaxInstances caps pooled instances of a blocking module, i.e. how many
	// of its checks run at once. Default 64.
	MaxInstances int
	// OutputBytesPerMinute caps what the module may write to stdout and
	// stderr (forwarded to the log). Default 64 KiB.
	OutputBytesPerMinute int
	// Grace is how long after a check's deadline the host waits for the
	// module to report before failing the check itself. Default
	// min(timeout/10, 1s), at least 50ms.
	Grace time.Duration
	// Allow lists destinations every check of the module may reach besides
	// its own target: host names, "*.domain" wildcards, IP addresses or
	// CIDR prefixes, each optionally with ":port".
	Allow []string
	// Capabilities limits the primitives the module may use ("tcp", "udp",
	// "http", "http3", "tls", "icmp", "snmp"); nil grants what the manifest
	// asks for.
	Capabilities []string
}

func (p Policy) withDefaults(mode string) Policy {
	if p.MemoryLimitPages == 0 {
		if mode == modeBlocking {
			p.MemoryLimitPages = 512
		} else {
			p.MemoryLimitPages = 4096
		}
	}
	if p.MaxResultBytes == 0 {
		p.MaxResultBytes = 1 << 20
	}
	if p.MaxResponseBytes == 0 {
		p.MaxResponseBytes = 4 << 20
	}
	if p.MaxHandles == 0 {
		p.MaxHandles = 16
	}
	if p.MaxOpsInFlight == 0 {
		p.MaxOpsInFlight = 64
	}
	if p.MaxInstances == 0 {
		p.MaxInstances = 64
	}
	if p.OutputBytesPerMinute == 0 {
		p.OutputBytesPerMinute = 64 << 10
	}
	return p
}

func (p Policy) grace(timeout time.Duration) time.Duration {
	if p.Grace > 0 {
		return p.Grace
	}
	g := timeout / 10
	if g > time.Second {
		g = time.Second
	}
	if g < 50*time.Millisecond {
		g = 50 * time.Millisecond
	}
	return g
}

// allowRule is one parsed allow-list entry.
type allowRule struct {
	host   string // lower-case name, or "" when prefix is set
	suffix bool   // host is "*.domain": matches any sub-domain
	prefix netip.Prefix
	port   int // 0 = any
}

func parseAllowRule(s string) (allowRule, error) {
	var r allowRule
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return r, fmt.Errorf("empty allow-list entry")
	}
	hostPart := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port < 1 || port > 65535 {
			return r, fmt.Errorf("allow-list entry %q: bad port %q", s, p)
		}
		hostPart, r.port = h, port
	} else if strings.Count(s, ":") == 1 && !strings.Contains(s, "/") {
		return r, fmt.Errorf("allow-list entry %q: %v", s, err)
	}
	hostPart = strings.Trim(hostPart, "[]")
	if pfx, err := netip.ParsePrefix(hostPart); err == nil {
		r.prefix = pfx.Masked()
		return r, nil
	}
	if ip, err := netip.ParseAddr(hostPart); err == nil {
		r.prefix = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		return r, nil
	}
	if strings.HasPrefix(hostPart, "*.") {
		r.suffix = true
		hostPart = hostPart[1:] // keep the dot: ".domain"
	}
	if strings.ContainsAny(hostPart, "/*") {
		return r, fmt.Errorf("allow-list entry %q is not a host, *.domain, IP or CIDR", s)
	}
	r.host = strings.TrimSuffix(hostPart, ".")
	return r, nil
}

func (r allowRule) match(host string, ip netip.Addr, port int) bool {
	if r.port != 0 && port != 0 && r.port != port {
		return false
	}
	if r.prefix.IsValid() {
		return ip.IsValid() && r.prefix.Contains(ip)
	}
	if r.suffix {
		return strings.HasSuffix(host, r.host)
	}
	return host == r.host
}

// allowList decides which destinations a check may reach: its target host
// (any port) plus the module's and the monitor's extra rules.
type allowList struct {
	target string // lower-case host of the monitor's address
	rules  []allowRule
}

func newAllowList(target string, extra ...[]string) (allowList, error) {
	a := allowList{target: strings.TrimSuffix(strings.ToLower(hostOf(target)), ".")}
	for _, list := range extra {
		for _, s := range list {
			r, err := parseAllowRule(s)
			if err != nil {
				return a, err
			}
			a.rules = append(a.rules, r)
		}
	}
	return a, nil
}

// check returns nil when host:port may be reached.
func (a allowList) check(host string, port int) error {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h != "" && h == a.target {
		return nil
	}
	ip, _ := netip.ParseAddr(h)
	ip = ip.Unmap()
	for _, r := range a.rules {
		if r.match(h, ip, port) {
			return nil
		}
	}
	dest := h
	if port > 0 {
		dest = net.JoinHostPort(h, strconv.Itoa(port))
	}
	return fmt.Errorf("destination %s is not in the allow-list (the check's target is %q; grant more with `allow:`)", dest, a.target)
}

// hostOf extracts the host from a monitor address: "tcp://h:25", "h:25",
// "https://h/x", "[::1]:53", "h".
func hostOf(address string) string {
	s := address
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}
