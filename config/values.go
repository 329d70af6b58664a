package config

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// check validates v as a value of fd and returns it typed: string, int,
// float64, bool, time.Duration, []string, map[string]string, []int or
// *time.Location. msg is "" when v is fine; sub, when not empty, is the
// part of the value at fault ("[2]" for a list item, ".Name" for a mapping
// entry).
func (fd *field) check(v any) (typed any, msg, sub string) {
	if v == nil && fd.kind != kAny {
		return nil, "has no value", ""
	}
	switch fd.kind {
	case kAny:
		return v, "", ""
	case kString, kPath, kType, kCron:
		s, ok := v.(string)
		if !ok {
			return nil, "must be a string" + fd.got(v), ""
		}
		if fd.kind == kPath && strings.TrimSpace(s) == "" {
			return nil, "must be a file path", ""
		}
		return s, "", ""
	case kText, kData:
		s, ok := v.(string)
		if !ok || s == "" || fd.kind == kText && strings.TrimSpace(s) == "" {
			return nil, "must be a non-empty string" + fd.got(v), ""
		}
		if fd.oneLine && strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
			return nil, "must be one line of text, without line breaks or control characters (got " + strconv.Quote(s) + ")", ""
		}
		return s, "", ""
	case kInt:
		n, ok := asInt(v)
		if !ok || !fd.inRange(float64(n)) {
			return nil, "must be an integer" + fd.rangeText("") + fd.got(v), ""
		}
		return n, "", ""
	case kNumber:
		x, ok := asNumber(v)
		if !ok || !fd.inRange(x) {
			return nil, "must be a number" + fd.rangeText("") + fd.got(v), ""
		}
		return x, "", ""
	case kBool, kBoolOK:
		b, ok := boolish(v, fd.kind == kBoolOK)
		if !ok {
			words := "true/yes/on/1 or false/no/off/0"
			if fd.kind == kBoolOK {
				words = "true/yes/ok/on/1 or false/no/off/0"
			}
			return nil, "must be " + words + fd.got(v), ""
		}
		return b, "", ""
	case kDuration:
		d, ok := asDuration(v)
		if _, secs := v.(int); !ok && secs {
			return nil, "must be at most " + strconv.FormatFloat(maxSecs, 'f', -1, 64) + " seconds" + fd.got(v), ""
		}
		if !ok {
			return nil, `must be a duration like "30s" or "1m30s", or a whole number of seconds` + fd.got(v), ""
		}
		if !fd.inRange(d.Seconds()) {
			return nil, "must be " + fd.durationRange() + fd.got(v), ""
		}
		return d, "", ""
	case kEnum:
		s, ok := v.(string)
		if ok && slices.Contains(fd.enum, s) {
			return s, "", ""
		}
		msg := "must be one of " + strings.Join(fd.enum, ", ") + fd.got(v)
		if ok {
			if h := suggest(s, fd.enum); h != "" {
				msg += " (did you mean " + h + "?)"
			}
		}
		return nil, msg, ""
	case kURL:
		s, ok := v.(string)
		if !ok {
			return nil, "must be a string" + fd.got(v), ""
		}
		if m := checkHTTPURL(s); m != "" {
			return nil, m + fd.got(v), ""
		}
		return s, "", ""
	case kEmail:
		s, ok := v.(string)
		if !ok || !emailRE.MatchString(s) {
			return nil, "must be an email address like name@example.com" + fd.got(v), ""
		}
		return s, "", ""
	case kStrings, kExprs:
		switch x := v.(type) {
		case string:
			if strings.TrimSpace(x) == "" {
				return nil, "must be a non-empty string or a list of them", ""
			}
			return []string{x}, "", ""
		case []any:
			out := make([]string, 0, len(x))
			for i, e := range x {
				s, ok := e.(string)
				if !ok || strings.TrimSpace(s) == "" {
					return nil, "must be a non-empty string" + fd.got(e), fmt.Sprintf("[%d]", i)
				}
				out = append(out, s)
			}
			return out, "", ""
		}
		return nil, "must be a string or a list of strings" + fd.got(v), ""
	case kStringMap:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "must be a mapping of names to strings" + fd.got(v), ""
		}
		out := make(map[string]string, len(m))
		for _, k := range sortedKeys(m) {
			e := m[k]
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Sprintf("must be a string (got %s; quote it)", kindOf(e)), "." + k
			}
			out[k] = s
		}
		return out, "", ""
	case kStatuses:
		list, isList := v.([]any)
		if !isList {
			list = []any{v}
		}
		if len(list) == 0 {
			return nil, "must list at least one status code", ""
		}
		out := make([]int, 0, len(list))
		for i, e := range list {
			n, ok := asInt(e)
			if !ok || n < 100 || n > 599 {
				at := ""
				if isList {
					at = fmt.Sprintf("[%d]", i)
				}
				return nil, "must be an HTTP status code from 100 to 599, or a list of them" + fd.got(e), at
			}
			out = append(out, n)
		}
		return out, "", ""
	case kFingerprint:
		s, ok := v.(string)
		if !ok {
			return nil, "must be a string of hex digits" + fd.got(v), ""
		}
		return s, checkFingerprint(s), ""
	case kMAC:
		s, ok := v.(string)
		if !ok || !macRE.MatchString(s) {
			return nil, "must be a MAC address like 18:E8:29:45:F8:F7" + fd.got(v), ""
		}
		return s, "", ""
	case kTimezone:
		s, ok := v.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, "must be a time zone name like Europe/Berlin, UTC or Local" + fd.got(v), ""
		}
		loc, err := time.LoadLocation(s)
		if err != nil {
			return nil, fmt.Sprintf("unknown time zone %q (use an IANA name like Europe/Berlin, or UTC or Local)", s), ""
		}
		return loc, "", ""
	case kSNMPVersion:
		switch x := v.(type) {
		case int:
			if x == 1 || x == 3 {
				return strconv.Itoa(x), "", ""
			}
		case string:
			if x == "1" || x == "2c" || x == "3" {
				return x, "", ""
			}
		}
		return nil, "must be 1, 2c or 3" + fd.got(v), ""
	}
	return v, "", ""
}

// got renders " (got X)" for messages, hiding secrets.
func (fd *field) got(v any) string {
	if fd.secret {
		return " (got " + kindOf(v) + ")"
	}
	return " (got " + show(v) + ")"
}

func (fd *field) inRange(x float64) bool {
	return (!fd.hasMin || x >= fd.min) && (!fd.hasMax || x <= fd.max)
}

// rangeText renders a field's bounds: " ≥ 1", " from 1 to 65535".
func (fd *field) rangeText(unit string) string {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) + unit }
	switch {
	case fd.hasMin && fd.hasMax:
		return " from " + num(fd.min) + " to " + num(fd.max)
	case fd.hasMin:
		return " ≥ " + num(fd.min)
	case fd.hasMax:
		return " ≤ " + num(fd.max)
	}
	return ""
}

func (fd *field) durationRange() string {
	secs := func(x float64) string { return fmtDuration(time.Duration(x * float64(time.Second))) }
	switch {
	case fd.hasMin && fd.min == 0:
		return "a duration ≥ 0"
	case fd.hasMin:
		return "at least " + secs(fd.min)
	}
	return "a duration"
}

// show renders a value for an error message.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		if len(x) > 80 {
			x = x[:77] + "..."
		}
		return strconv.Quote(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// kindOf names a value's type without showing it.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case int, uint64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		// JSON writers sometimes emit 5.0 for 5.
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x), true
		}
	}
	return 0, false
}

func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// boolish reads APMonitor's boolean/integer/string flags:
// true/yes/on/1 and false/no/off/0, case-insensitive (plus "ok" for true
// where APMonitor accepts it).
func boolish(v any, allowOK bool) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int:
		if x == 0 || x == 1 {
			return x == 1, true
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "1":
			return true, true
		case "false", "no", "off", "0":
			return false, true
		case "ok":
			return true, allowOK
		}
	}
	return false, false
}

// asDuration reads a Go duration string or whole seconds.
func asDuration(v any) (time.Duration, bool) {
	switch x := v.(type) {
	case int:
		if x > math.MaxInt64/int(time.Second) || x < math.MinInt64/int(time.Second) {
			return 0, false
		}
		return time.Duration(x) * time.Second, true
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return 0, false
		}
		return d, true
	}
	return 0, false
}

// fmtDuration renders a duration without zero units: 1m, 1h30m, 500ms.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// emailRE is APMonitor's "RFC 5322 simplified" address check.
var emailRE = regexp.MustCompile(`^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$`)

var macRE = regexp.MustCompile(`^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$`)

var hostnameRE = regexp.MustCompile(`^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.?$`)

var dottedRE = regexp.MustCompile(`^[0-9.]+$`)

// checkHost accepts a host name, an IPv4 or an IPv6 address (with an
// optional zone); it returns a message for anything else.
func checkHost(h string) string {
	if h == "" {
		return "has no host"
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	if dottedRE.MatchString(h) {
		return fmt.Sprintf("%q is not a valid IPv4 address", h)
	}
	if len(h) > 253 || !hostnameRE.MatchString(h) {
		return fmt.Sprintf("%q is not a valid host name or IP address", h)
	}
	return ""
}

// checkHTTPURL: an http:// or https:// URL with a host.
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return `must be an http:// or https:// URL with a host, like "https://example.com/path"`
	}
	return ""
}

// checkFingerprint: hex digits (colons allowed) whose count is a power of
// two, as APMonitor requires.
func checkFingerprint(s string) string {
	clean := strings.ReplaceAll(s, ":", "")
	if clean == "" {
		return "must be hex digits (colons allowed), like the 64 of a SHA-256 fingerprint"
	}
	if _, err := hex.DecodeString(clean + strings.Repeat("0", len(clean)%2)); err != nil {
		return fmt.Sprintf("must be hex digits (colons allowed) (got %q)", s)
	}
	if n := len(clean); n&(n-1) != 0 {
		return fmt.Sprintf("has %d hex digits; the count must be a power of two (64 for SHA-256)", n)
	}
	return ""
}
