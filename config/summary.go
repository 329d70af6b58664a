package config

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"
)

// Summary describes the configuration for `zappy validate` (APMonitor's
// --test-config): the site, its monitors counted by type, its notification
// channels, then one line per monitor with its schedule and notification
// pacing. Secrets (passwords, tokens, webhook paths, URL passwords) are not
// shown.
func (c *Config) Summary() string {
	var b strings.Builder
	s := &c.Site
	tz := "Local"
	if s.Timezone != nil {
		tz = s.Timezone.String()
	}
	fmt.Fprintf(&b, "site %q (%s), time zone %s, up to %d %s at once\n", s.Name, c.File, tz, s.MaxThreads, plural(s.MaxThreads, "check", "checks"))

	counts := map[string]int{}
	for _, m := range c.Monitors {
		counts[m.Type]++
	}
	var byType []string
	for _, t := range sortedKeys(counts) {
		byType = append(byType, fmt.Sprintf("%d %s", counts[t], t))
	}
	fmt.Fprintf(&b, "%d %s: %s\n", len(c.Monitors), plural(len(c.Monitors), "monitor", "monitors"), strings.Join(byType, ", "))

	var channels []string
	if s.Email != nil {
		var to []string
		for _, r := range s.OutageEmails {
			to = append(to, r.Email)
		}
		ch := fmt.Sprintf("email via %s:%d (%s) from %s", s.Email.Host, s.Email.Port, s.Email.TLS, s.Email.From)
		if len(to) > 0 {
			ch += " to " + strings.Join(to, ", ")
		}
		channels = append(channels, ch)
	}
	for _, n := range s.Notifiers {
		channels = append(channels, n.describe())
	}
	switch {
	case !s.Alarms:
		b.WriteString("notifications: off (alarms: false)\n")
	case len(channels) == 0:
		b.WriteString("notifications: none configured\n")
	default:
		b.WriteString("notifications:\n")
		for _, ch := range channels {
			b.WriteString("  " + ch + "\n")
		}
	}
	if s.Report != nil {
		fmt.Fprintf(&b, "report of failing monitors: every %s\n", fmtDuration(s.Report.Every))
	}

	b.WriteString("\n")
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	described := false
	for _, m := range c.Monitors {
		described = described || m.Description != ""
	}
	header := "NAME\tTYPE\tADDRESS\tSCHEDULE\tNOTIFY"
	if described {
		header += "\tDESCRIPTION"
	}
	fmt.Fprintln(tw, header)
	for _, m := range c.Monitors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s", m.Name, m.Type, redact(m.Address), m.schedule(), m.pacing())
		if described {
			fmt.Fprintf(tw, "\t%s", strings.Join(strings.Fields(m.Description), " "))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		if line != "" {
			b.WriteString(strings.TrimRight(line, " \n") + "\n")
		}
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// describe names a notifier and where it sends, without credentials.
func (n *Notifier) describe() string {
	var where []string
	if m, ok := n.Fields["request_method"].(string); ok {
		where = append(where, m)
	}
	for _, k := range []string{"endpoint_url", "webhook_url", "url", "api_url"} {
		if s, ok := n.Fields[k].(string); ok {
			if u, err := url.Parse(s); err == nil && u.Host != "" {
				where = append(where, u.Host)
				break
			}
		}
	}
	var skip []string
	for _, f := range []struct {
		on   bool
		what string
	}{{n.Outages, "outages"}, {n.Recoveries, "recoveries"}, {n.Reminders, "reminders"}} {
		if !f.on {
			skip = append(skip, "no "+f.what)
		}
	}
	d := n.Name + " (" + strings.Join(append([]string{n.Type}, where...), " ")
	if len(skip) > 0 {
		d += "; " + strings.Join(skip, ", ")
	}
	return d + ")"
}

// redact hides the password of a URL address.
func redact(addr string) string {
	if !strings.Contains(addr, "@") {
		return addr
	}
	if u, err := url.Parse(addr); err == nil && u.User != nil {
		return u.Redacted()
	}
	return addr
}

func (m *Monitor) schedule() string {
	s := "every " + fmtDuration(m.CheckEvery)
	if m.Cron != "" {
		s = "cron " + m.Cron
	}
	if m.Jitter > 0 {
		s += " + jitter up to " + fmtDuration(m.Jitter)
	}
	return s
}

func (m *Monitor) pacing() string {
	if !m.Alarms {
		return "alarms off"
	}
	s := "every " + fmtDuration(m.NotifyEvery)
	if m.AfterEveryN > 1 {
		s = fmt.Sprintf("ramping to %s over %d", fmtDuration(m.NotifyEvery), m.AfterEveryN)
	}
	var extra []string
	if m.FailuresBeforeOutage > 1 {
		extra = append(extra, fmt.Sprintf("after %d failures", m.FailuresBeforeOutage))
	}
	if len(m.Depends) > 0 {
		deps := append([]string(nil), m.Depends...)
		sort.Strings(deps)
		extra = append(extra, "depends on "+strings.Join(deps, ", "))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, "; ") + ")"
	}
	return s
}
