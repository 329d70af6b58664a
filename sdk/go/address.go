package zappy

import "strings"

// HostPort turns a monitor address into "host:port": it accepts "host:port",
// "[v6]:port", bare hosts and URLs such as "tcp://mail:25", "udp://dns:53",
// "snmp://switch" or "https://web/path". defaultPort is used when the address
// has no port (0 leaves the result without one). Scheme defaults apply for
// http (80), https (443) and snmp (161) when defaultPort is 0.
func HostPort(address string, defaultPort int) string {
	auth, host, port := splitAddress(address)
	if port != "" && (auth[0] != '[' || strings.IndexByte(host, ':') >= 0) {
		// "host:port" or "[v6]:port", as written: no copy.
		return auth
	}
	return joinAddress(address, host, port, defaultPort)
}

// joinAddress is HostPort from the parts SplitAddress found in address:
// the port, else defaultPort or the scheme's, and brackets for IPv6.
func joinAddress(address, host, port string, defaultPort int) string {
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
	_, h, _ := splitAddress(address)
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
	_, host, port = splitAddress(address)
	return host, port
}

// splitAddress is SplitAddress that also returns the authority: the
// address without scheme, user, path, query or fragment. Checks run it on
// every dial, so it walks the address in plain byte loops (the strings
// functions cost several times as much inside wasm).
func splitAddress(address string) (auth, host, port string) {
	s := address
	for i := 0; i+2 < len(s); i++ {
		if s[i] == ':' && s[i+1] == '/' && s[i+2] == '/' {
			s = s[i+3:]
			break
		}
	}
	at, colons, firstColon := -1, 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '/', '?', '#':
			s = s[:i]
		case '@':
			at, colons, firstColon = i, 0, -1
			continue
		case ':':
			if colons++; firstColon < 0 {
				firstColon = i
			}
			continue
		default:
			continue
		}
		break
	}
	if at >= 0 {
		s = s[at+1:]
		firstColon -= at + 1
	}
	if len(s) > 0 && s[0] == '[' {
		for j := 1; j < len(s); j++ {
			if s[j] == ']' {
				if j+1 < len(s) && s[j+1] == ':' {
					return s, s[1:j], s[j+2:]
				}
				return s, s[1:j], ""
			}
		}
	}
	if colons == 1 {
		return s, s[:firstColon], s[firstColon+1:]
	}
	return s, s, ""
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
