package zappy

import "strings"

// HostPort turns a monitor address into "host:port": it accepts "host:port",
// "[v6]:port", bare hosts and URLs such as "tcp://mail:25", "udp://dns:53",
// "snmp://switch" or "https://web/path". defaultPort is used when the address
// has no port (0 leaves the result without one). Scheme defaults apply for
// http (80), https (443) and snmp (161) when defaultPort is 0.
func HostPort(address string, defaultPort int) string {
	host, port := SplitAddress(address)
	if port == "" {
		if defaultPort > 0 {
			port = itoa(defaultPort)
		} else {
			switch scheme(address) {
			case "http":
				port = "80"
			case "https", "quic":
				port = "443"
			case "snmp":
				port = "161"
			}
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" {
		return host
	}
	return host + ":" + port
}

// Host returns just the host part of a monitor address (no brackets).
func Host(address string) string {
	h, _ := SplitAddress(address)
	return h
}

func scheme(address string) string {
	if i := strings.Index(address, "://"); i > 0 {
		return strings.ToLower(address[:i])
	}
	return ""
}

// SplitAddress splits a monitor address into host (without IPv6 brackets)
// and port ("" when absent).
func SplitAddress(address string) (host, port string) {
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
	if strings.HasPrefix(s, "[") {
		if j := strings.Index(s, "]"); j > 0 {
			host = s[1:j]
			if rest := s[j+1:]; strings.HasPrefix(rest, ":") {
				port = rest[1:]
			}
			return host, port
		}
	}
	if strings.Count(s, ":") == 1 {
		i := strings.Index(s, ":")
		return s[:i], s[i+1:]
	}
	return s, ""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
