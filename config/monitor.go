package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/zappy-mon/zappy/internal/payload"
	"github.com/zappy-mon/zappy/runtime/check"
)

func (p *parser) monitors(cfg *Config, top *obj) {
	list := resolve(top.nodes["monitors"])
	items := top.items("monitors", "each monitor must be a mapping (type, name, address, ...)")
	if list.Kind == yaml.SequenceNode && len(list.Content) == 0 {
		top.fail("monitors", "the list is empty; a site needs at least one monitor")
	}
	seen := map[string]int{}
	for i, item := range items {
		if item == nil {
			continue
		}
		m := p.monitor(cfg, i, item)
		if m == nil {
			continue
		}
		if prev, dup := seen[m.Name]; dup {
			p.fail(m.Lines["name"], m.Name, "name", "duplicate monitor name (first used on line %d); names must be unique", prev)
			continue
		}
		seen[m.Name] = m.Line
		cfg.Monitors = append(cfg.Monitors, m)
	}
	p.dependencies(cfg.Monitors)
}

var typeRE = regexp.MustCompile(typePattern)

// methodRE: HTTP methods are case-sensitive tokens, upper case by convention
// (RFC 9110), so "get" is almost certainly a mistake.
var methodRE = regexp.MustCompile(`^[A-Z][A-Z0-9_-]*$`)

// monitorTables are the common fields plus each type's own.
var monitorTables = func() map[string]table {
	out := make(map[string]table, len(typeFields))
	for typ, own := range typeFields {
		out[typ] = join(monitorCommon, own)
	}
	return out
}()

// monitor reads one entry of `monitors:`. It returns the monitor whenever
// its name is usable, even with other errors, so that duplicate names and
// dependencies are still checked.
func (p *parser) monitor(cfg *Config, i int, n *yaml.Node) *Monitor {
	label := fmt.Sprintf("#%d", i+1)
	hasModule := false
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "module" {
			hasModule = true
		}
	}
	kinds := tableKinds(allMonitorFields)
	if hasModule {
		// A module's own fields are unknown here: read them as YAML does.
		kinds = tableKinds(monitorCommon)
	}
	mark := len(p.errs)
	o := p.object(n, "", label, kinds)
	// Name the monitor in every error, including those found so far.
	if s, ok := o.raw["name"].(string); ok && strings.TrimSpace(s) != "" {
		for _, e := range p.errs[mark:] {
			if e.Monitor == label {
				e.Monitor = s
			}
		}
		label, o.monitor = s, s
	}

	// module may also come in through a merge key.
	hasModule = o.present("module")
	typ, _ := o.raw["type"].(string)
	_, known := typeFields[typ]
	known = known && !hasModule
	fields := monitorCommon
	if known {
		fields = monitorTables[typ]
	}
	p.validate(o, fields, func(key string) string {
		switch {
		case hasModule:
			return "" // the module's manifest validates its fields
		case !known:
			return "" // the type's own error says it all
		}
		if others := typesWith(monitorTypes, typeFields, key); len(others) > 0 {
			return fmt.Sprintf("not valid for %s monitors (it applies to %s)", typ, strings.Join(others, ", "))
		}
		return unknownField(key, fields.names())
	})
	if o.has("type") {
		switch {
		case hasModule:
			if !typeRE.MatchString(typ) {
				o.fail("type", "%q is not a type name: lower-case letters, digits, _ . and -, starting with a letter, at most 64", typ)
			}
		case typ == "snmp":
			p.fail(o.lines["type"], label, "", "type 'snmp' is not valid. Did you mean type: ports?")
		case !known:
			msg := fmt.Sprintf("unknown type %q", typ)
			if h := suggest(typ, monitorTypes); h != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", h)
			} else {
				msg += fmt.Sprintf(" (built-in types: %s; a custom type needs module:)", strings.Join(monitorTypes, ", "))
			}
			o.fail("type", "%s", msg)
		}
	}
	if known && o.has("address") {
		if msg := checkAddress(typ, o.str("address")); msg != "" {
			o.fail("address", "%s (got %q)", msg, o.str("address"))
		}
	}
	if !o.has("name") {
		return nil
	}

	site := &cfg.Site
	m := &Monitor{
		Name:                    o.str("name"),
		Type:                    typ,
		Address:                 o.str("address"),
		File:                    p.file,
		Line:                    n.Line,
		Fields:                  o.raw,
		Lines:                   o.lines,
		MaxRetries:              o.intOr("max_retries", site.MaxRetries),
		MaxTry:                  site.MaxTry,
		Allow:                   o.strs("allow"),
		CheckEvery:              site.CheckEvery,
		NotifyEvery:             site.NotifyEvery,
		AfterEveryN:             o.intOr("after_every_n_notifications", site.AfterEveryN),
		Email:                   o.boolOr("email", true),
		Display:                 o.boolOr("display", true),
		Alarms:                  o.boolOr("alarms", site.Alarms),
		HeartbeatURL:            o.str("heartbeat_url"),
		Depends:                 o.strs("depends"),
		Description:             o.str("description"),
		FailuresBeforeOutage:    o.intOr("failures_before_outage", site.FailuresBeforeOutage),
		SuccessesBeforeRecovery: o.intOr("successes_before_recovery", site.SuccessesBeforeRecovery),
		FlapWindow:              o.intOr("flap_window", site.FlapWindow),
		FlapChanges:             o.intOr("flap_changes", site.FlapChanges),
		Checksum:                checksum(o.raw),
	}
	for j := range m.Depends {
		m.dependsLines = append(m.dependsLines, subLine(o.nodes["depends"], fmt.Sprintf("[%d]", j), o.lines["depends"]))
	}
	if o.has("module") {
		m.Module = p.resolvePath(o.str("module"))
	}
	p.timing(o, m, site)
	p.assertions(o, m)
	flapRule(o, m.FlapWindow, m.FlapChanges)
	if known && o.present("content_type") && !o.present("send") {
		o.fail("content_type", "can only be given with send")
	}
	if known {
		switch typ {
		case "tcp", "udp":
			// A payload the check could not decode is refused here, not
			// at every run (an invalid content_type is reported on its
			// own).
			if o.has("send") && (!o.present("content_type") || o.has("content_type")) {
				if _, err := payload.Decode(o.str("send"), o.str("content_type")); err != nil {
					o.fail("send", "%s (content_type: %s)", strings.TrimPrefix(err.Error(), "send "), o.str("content_type"))
				}
			}
			if typ == "udp" && o.boolOr("fire_and_forget", false) && o.present("expect") {
				o.fail("fire_and_forget", "cannot be combined with expect: an expected reply is one the check waits for")
			}
		case "cert":
			// Against the default warn_days too: critical_days: 20 alone
			// would be down before it is ever degraded just the same.
			if warn := o.numOr("warn_days", defaultWarnDays); o.has("critical_days") && o.numOr("critical_days", 0) > warn {
				what := "warn_days"
				if !o.has("warn_days") {
					what = "warn_days (its default)"
				}
				o.fail("critical_days", "must not exceed %s (%v > %v): the certificate would be down before it is ever degraded", what, o.numOr("critical_days", 0), warn)
			}
		case "ports", "port", "host":
			p.snmpRules(o)
		case "http", "quic":
			if method := o.str("method"); o.has("method") && !methodRE.MatchString(method) {
				msg := fmt.Sprintf("must be an upper-case HTTP method like GET, HEAD or POST (got %q)", method)
				if up := strings.ToUpper(method); methodRE.MatchString(up) {
					msg += fmt.Sprintf(" (did you mean %s?)", up)
				}
				o.fail("method", "%s", msg)
			}
		}
	}
	return m
}

// aliasPair reports a field given under both of its names and returns the
// name in use ("" for neither).
func aliasPair(o *obj, a, b string) string {
	switch {
	case o.present(a) && o.present(b):
		first, second := a, b
		if o.lines[b] < o.lines[a] {
			first, second = b, a
		}
		where := fmt.Sprintf(" (line %d)", o.lines[first])
		if o.p.opt.adHoc {
			where = "" // the lines of the YAML AdHoc builds mean nothing to the user
		}
		o.fail(second, "means the same as %s%s; give only one of them", first, where)
		return first
	case o.present(a):
		return a
	case o.present(b):
		return b
	}
	return ""
}

// interval reads an alias pair of which one is a duration and the other
// integer seconds.
func interval(o *obj, key string) (time.Duration, bool) {
	if !o.has(key) {
		return 0, false
	}
	if d, ok := o.typed[key].(time.Duration); ok {
		return d, true
	}
	return o.secsOr(key, 0), true
}

// timing resolves the schedule, notification pacing, heartbeats and the
// attempt timeout, and checks the rules between them.
func (p *parser) timing(o *obj, m *Monitor, site *Site) {
	everyKey := aliasPair(o, "every", "check_every_n_secs")
	every, hasEvery := interval(o, everyKey)
	if hasEvery {
		m.CheckEvery = every
	}
	period := m.CheckEvery
	if o.present("cron") {
		if everyKey != "" {
			o.fail("cron", "give either cron or %s, not both", everyKey)
		}
		if o.has("cron") {
			m.Cron = o.str("cron")
			sched, gap, err := parseCron(m.Cron, site.Timezone)
			if err != nil {
				o.fail("cron", "%q: %v", m.Cron, err)
				period = 0
			} else {
				m.Schedule, m.CheckEvery, period = sched, 0, gap
			}
		} else {
			period = 0
		}
	}
	if jitter, ok := o.typed["jitter"].(time.Duration); ok {
		m.Jitter = jitter
		if period > 0 && jitter >= period {
			what := "the interval between checks"
			if m.Cron != "" {
				what = "the shortest gap between the cron schedule's runs"
			}
			o.fail("jitter", "%s must be less than %s (%s)", fmtDuration(jitter), what, fmtDuration(period))
		}
	}

	notifyKey := aliasPair(o, "notify_every", "notify_every_n_secs")
	if notify, ok := interval(o, notifyKey); ok {
		m.NotifyEvery = notify
		if hasEvery && notify < every {
			o.fail(notifyKey, "must be ≥ %s: notifying every %s is more often than checking every %s", everyKey, fmtDuration(notify), fmtDuration(every))
		}
	}
	if o.present("after_every_n_notifications") && notifyKey == "" {
		o.fail("after_every_n_notifications", "can only be given with notify_every_n_secs on the monitor")
	}

	heartbeatKey := aliasPair(o, "heartbeat_every", "heartbeat_every_n_secs")
	if hb, ok := interval(o, heartbeatKey); ok {
		m.HeartbeatEvery = hb
	}
	if heartbeatKey != "" && !o.present("heartbeat_url") {
		o.fail(heartbeatKey, "can only be given with heartbeat_url")
	}

	timeoutKey := aliasPair(o, "timeout", "max_try_secs")
	if d, ok := interval(o, timeoutKey); ok {
		m.MaxTry = d
	}
}

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// cronRef is the fixed instant schedules are probed from, so that
// validation does not depend on the day it runs.
var cronRef = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// parseCron parses spec in loc (unless it names its own CRON_TZ) and
// returns the shortest gap between its next runs, for the jitter rule.
func parseCron(spec string, loc *time.Location) (sched cron.Schedule, gap time.Duration, err error) {
	defer func() {
		// robfig/cron indexes past the end of some malformed specs
		// ("TZ=UTC" without a schedule).
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("not a valid cron spec")
		}
	}()
	sched, err = cronParser.Parse(spec)
	if err != nil {
		return nil, 0, errors.New(strings.TrimPrefix(err.Error(), "failed to parse "))
	}
	if s, ok := sched.(*cron.SpecSchedule); ok && s.Location == time.Local && loc != nil {
		s.Location = loc
	}
	t := sched.Next(cronRef)
	if t.IsZero() {
		return nil, 0, fmt.Errorf("never runs (no date matches it)")
	}
	for i := 0; i < 64; i++ {
		n := sched.Next(t)
		if n.IsZero() {
			break
		}
		if d := n.Sub(t); gap == 0 || d < gap {
			gap = d
		}
		t = n
	}
	return sched, gap, nil
}

// assertions compiles assert and degraded_if, reporting every bad
// expression, not only the first.
func (p *parser) assertions(o *obj, m *Monitor) {
	m.Assert, m.DegradedIf = o.strs("assert"), o.strs("degraded_if")
	a, err := check.CompileAssertions(m.Assert, m.DegradedIf)
	if err == nil {
		m.Assertions = a
		return
	}
	for _, key := range []string{"assert", "degraded_if"} {
		for i, src := range o.strs(key) {
			var err error
			if key == "assert" {
				_, err = check.CompileAssertions([]string{src}, nil)
			} else {
				_, err = check.CompileAssertions(nil, []string{src})
			}
			var ae *check.AssertError
			if errors.As(err, &ae) {
				sub := fmt.Sprintf("[%d]", i)
				p.fail(subLine(o.nodes[key], sub, o.lines[key]), o.monitor, key+sub, "%q: %s", src, firstLine(ae.Err.Error()))
			} else if err != nil {
				o.fail(key, "%v", err)
			}
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var snmpV3Fields = []string{"username", "auth_protocol", "auth_passphrase", "priv_protocol", "priv_passphrase", "context_name"}

// snmpRules: SNMPv3 fields only with version 3, which needs a user; the
// USM's pairs and minimum passphrase length.
func (p *parser) snmpRules(o *obj) {
	version := "2c"
	if o.has("version") {
		version = o.str("version")
	}
	if version != "3" {
		for _, k := range snmpV3Fields {
			if o.present(k) {
				o.fail(k, "only used with version: 3 (this monitor uses SNMP version %s)", version)
			}
		}
		return
	}
	if !o.present("username") {
		p.fail(o.lines["version"], o.monitor, "username", "missing (required with version: 3)")
	}
	for _, k := range []string{"auth_passphrase", "priv_passphrase"} {
		if o.has(k) && len(o.str(k)) < 8 {
			o.fail(k, "must be at least 8 characters")
		}
	}
	for _, pair := range [][2]string{{"auth_protocol", "auth_passphrase"}, {"auth_passphrase", "auth_protocol"}, {"priv_protocol", "priv_passphrase"}, {"priv_passphrase", "priv_protocol"}} {
		if o.present(pair[0]) && !o.present(pair[1]) {
			o.fail(pair[0], "needs %s too", pair[1])
		}
	}
	if o.present("priv_protocol") && !o.present("auth_protocol") {
		o.fail("priv_protocol", "needs auth_protocol: SNMPv3 has no privacy without authentication")
	}
}

// checkAddress applies the address rules of each built-in type.
func checkAddress(typ, addr string) string {
	switch typ {
	case "ping":
		if strings.Contains(addr, "://") {
			return "must be a host name or IP address, without a scheme"
		}
		if msg := checkHost(addr); msg != "" {
			return "must be a host name, IPv4 or IPv6 address: " + msg
		}
	case "http", "quic":
		u, err := url.Parse(addr)
		want := "an http:// or https:// URL with a host"
		if typ == "quic" {
			want = "an https:// URL with a host (HTTP/3 is always encrypted)"
		}
		if err != nil || u.Host == "" || u.Hostname() == "" || !(u.Scheme == "https" || typ == "http" && u.Scheme == "http") {
			return "must be " + want
		}
	case "tcp", "udp":
		return checkHostPortURL(addr, typ, true)
	case "ports", "port", "host":
		return checkHostPortURL(addr, "snmp", false)
	case "cert":
		const forms = "must be host:port, tls://host:port, tcp://host:port or an https:// URL"
		switch {
		case strings.HasPrefix(addr, "https://"):
			u, err := url.Parse(addr)
			if err != nil || u.Hostname() == "" {
				return forms
			}
		case strings.HasPrefix(addr, "tls://"):
			return checkHostPortURL(addr, "tls", true)
		case strings.HasPrefix(addr, "tcp://"): // e.g. with starttls: smtp
			return checkHostPortURL(addr, "tcp", true)
		case strings.Contains(addr, "://"):
			return forms
		default:
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return forms
			}
			if msg := checkHost(host); msg != "" {
				return "must be host:port: " + msg
			}
			if !validPort(port) {
				return "must be host:port with a port from 1 to 65535"
			}
		}
	}
	return ""
}

// validPort: a decimal port number from 1 to 65535.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// checkHostPortURL: scheme://host:port (the port optional unless
// portRequired), nothing else.
func checkHostPortURL(addr, scheme string, portRequired bool) string {
	want := scheme + "://host:port"
	if !portRequired {
		want = scheme + "://host[:port]"
	}
	u, err := url.Parse(addr)
	if err != nil || u.Scheme != scheme || u.Opaque != "" || u.Host == "" {
		return "must be " + want
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "must be " + want + ", without a path or query"
	}
	if msg := checkHost(u.Hostname()); msg != "" {
		return "must be " + want + ": " + msg
	}
	port := u.Port()
	if port == "" {
		if portRequired {
			return "must be " + want + ": the port is missing"
		}
		return ""
	}
	if !validPort(port) {
		return "must be " + want + " with a port from 1 to 65535"
	}
	return ""
}

// dependencies checks that every name in depends exists and that the
// dependencies have no cycle.
func (p *parser) dependencies(ms []*Monitor) {
	index := make(map[string]int, len(ms))
	names := make([]string, len(ms))
	for i, m := range ms {
		index[m.Name] = i
		names[i] = m.Name
	}
	edges := make([][]int, len(ms))
	for i, m := range ms {
		for j, d := range m.Depends {
			k, ok := index[d]
			if !ok {
				field := "depends"
				if len(m.Depends) > 1 || m.Fields != nil && isList(m.Fields["depends"]) {
					field = fmt.Sprintf("depends[%d]", j)
				}
				msg := fmt.Sprintf("no monitor named %q", d)
				if h := suggest(d, names); h != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", h)
				}
				p.fail(m.dependsLines[j], m.Name, field, "%s", msg)
				continue
			}
			edges[i] = append(edges[i], k)
		}
	}
	const (
		unseen = iota
		onStack
		done
	)
	state := make([]int, len(ms))
	var stack []int
	reported := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, k := range edges[i] {
			switch state[k] {
			case unseen:
				visit(k)
			case onStack:
				pos := len(stack) - 1
				for stack[pos] != k {
					pos--
				}
				cycle := append([]int(nil), stack[pos:]...)
				// Start the path at the monitor that comes first in the file.
				first := 0
				for c := range cycle {
					if cycle[c] < cycle[first] {
						first = c
					}
				}
				path := make([]string, 0, len(cycle)+1)
				for c := range cycle {
					path = append(path, names[cycle[(first+c)%len(cycle)]])
				}
				path = append(path, path[0])
				key := strings.Join(path, " -> ")
				if !reported[key] {
					reported[key] = true
					m := ms[cycle[first]]
					p.fail(m.Lines["depends"], m.Name, "depends", "dependency cycle: %s", key)
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range ms {
		if state[i] == unseen {
			visit(i)
		}
	}
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
