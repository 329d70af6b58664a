package config

import (
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	// The zone database is embedded so that timezone works on hosts and
	// containers without /usr/share/zoneinfo.
	_ "time/tzdata"

	"gopkg.in/yaml.v3"
)

// defaultSite is the site of a file without a `site:` section.
func defaultSite(file string) Site {
	return Site{
		Name:                    strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)),
		Timezone:                time.Local,
		MaxThreads:              DefaultMaxThreads,
		MaxRetries:              DefaultMaxRetries,
		MaxTry:                  DefaultMaxTry,
		CheckEvery:              DefaultCheckEvery,
		NotifyEvery:             DefaultNotifyEvery,
		AfterEveryN:             DefaultAfterEveryN,
		Alarms:                  true,
		FailuresBeforeOutage:    DefaultFailuresBeforeOutage,
		SuccessesBeforeRecovery: DefaultSuccessesBeforeRecovery,
		FlapWindow:              DefaultFlapWindow,
		FlapChanges:             DefaultFlapChanges,
		HistoryRetention:        DefaultHistoryRetention,
		PruneRemovedAfter:       DefaultPruneRemovedAfter,
		Fields:                  map[string]any{},
		Lines:                   map[string]int{},
	}
}

func (p *parser) site(cfg *Config, top *obj) {
	n := top.mapping("site")
	if n == nil {
		return
	}
	o := p.object(n, "site.", "", tableKinds(siteFields))
	p.validate(o, siteFields, nil)
	s := &cfg.Site
	s.Fields, s.Lines = o.raw, o.lines

	if o.has("name") {
		s.Name = o.str("name")
	}
	if loc, ok := o.typed["timezone"].(*time.Location); ok {
		s.Timezone = loc
	}
	s.MaxThreads = o.intOr("max_threads", s.MaxThreads)
	s.MaxRetries = o.intOr("max_retries", s.MaxRetries)
	s.MaxTry = o.secsOr("max_try_secs", s.MaxTry)
	s.CheckEvery = o.secsOr("check_every_n_secs", s.CheckEvery)
	s.NotifyEvery = o.secsOr("notify_every_n_secs", s.NotifyEvery)
	s.AfterEveryN = o.intOr("after_every_n_notifications", s.AfterEveryN)
	s.Alarms = o.boolOr("alarms", s.Alarms)
	s.FailuresBeforeOutage = o.intOr("failures_before_outage", s.FailuresBeforeOutage)
	s.SuccessesBeforeRecovery = o.intOr("successes_before_recovery", s.SuccessesBeforeRecovery)
	s.FlapWindow = o.intOr("flap_window", s.FlapWindow)
	s.FlapChanges = o.intOr("flap_changes", s.FlapChanges)
	s.HistoryRetention = o.durOr("history_retention", s.HistoryRetention)
	s.PruneRemovedAfter = o.durOr("prune_removed_after", s.PruneRemovedAfter)
	flapRule(o, s.FlapWindow, s.FlapChanges)

	if m := o.mapping("email_server"); m != nil {
		s.Email = p.emailServer(o, m)
	}
	if o.present("outage_emails") {
		if !o.present("email_server") {
			o.fail("outage_emails", "can only be given when site.email_server is configured")
		}
		for i, item := range o.items("outage_emails", "") {
			if r, ok := p.recipient(o, i, item); ok {
				s.OutageEmails = append(s.OutageEmails, r)
			}
		}
	}
	if m := o.mapping("report"); m != nil {
		ro := p.object(m, "site.report.", "", tableKinds(reportFields))
		p.validate(ro, reportFields, nil)
		o.raw["report"] = ro.raw
		if ro.has("every") {
			s.Report = &Report{Every: ro.durOr("every", 0), Line: o.lines["report"]}
		}
	}
	p.notifiers(s, o)
}

// flapRule: flap_changes must be reachable within flap_window results. It
// applies where o sets either (the other may be inherited).
func flapRule(o *obj, window, changes int) {
	if (o.has("flap_window") || o.has("flap_changes")) && changes > window-1 {
		key := "flap_changes"
		if !o.has(key) {
			key = "flap_window"
		}
		o.fail(key, "flap_changes %d can never be reached: %d results hold at most %d status changes", changes, window, window-1)
	}
}

func (p *parser) emailServer(site *obj, n *yaml.Node) *EmailServer {
	o := p.object(n, "site.email_server.", "", tableKinds(emailServerFields))
	p.validate(o, emailServerFields, nil)
	site.raw["email_server"] = o.raw
	es := &EmailServer{
		Host:      o.str("smtp_host"),
		Port:      o.intOr("smtp_port", 0),
		Username:  o.str("smtp_username"),
		Password:  o.str("smtp_password"),
		From:      o.str("from_address"),
		VerifyTLS: o.boolOr("verify_tls", true),
		Line:      site.lines["email_server"],
	}
	useTLS := o.boolOr("use_tls", true)
	switch {
	case o.has("tls"):
		es.TLS = o.str("tls")
		if o.has("use_tls") && useTLS != (es.TLS != "none") {
			o.fail("tls", "%s contradicts use_tls: %v; keep only tls", es.TLS, useTLS)
		}
	case !useTLS:
		es.TLS = "none"
	case es.Port == 465:
		es.TLS = "implicit"
	default:
		es.TLS = "starttls"
	}
	if o.has("ca_file") {
		es.CAFile = p.resolvePath(o.str("ca_file"))
		if msg := checkPEM(es.CAFile); msg != "" {
			o.fail("ca_file", "%s", msg)
		}
	}
	return es
}

// checkPEM makes sure path is a PEM bundle with at least one certificate,
// so that a wrong ca_file fails at load time rather than at the first
// outage.
func checkPEM(path string) string {
	data, tooBig, err := readRegular(path, 1<<20)
	switch {
	case err != nil:
		return readError(err) + ": " + path
	case tooBig:
		return fmt.Sprintf("%s must be a regular file of at most 1 MiB", path)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Sprintf("%s holds no PEM certificate", path)
	}
	return ""
}

func (p *parser) recipient(site *obj, i int, n *yaml.Node) (EmailRecipient, bool) {
	if n == nil {
		return EmailRecipient{}, false
	}
	o := p.object(n, fmt.Sprintf("site.outage_emails[%d].", i), "", tableKinds(recipientFields))
	p.validate(o, recipientFields, nil)
	list, _ := site.raw["outage_emails"].([]any)
	site.raw["outage_emails"] = append(list, o.raw)
	if !o.has("email") {
		return EmailRecipient{}, false
	}
	return EmailRecipient{
		Email:      o.str("email"),
		Outages:    o.boolOr("email_outages", true),
		Recoveries: o.boolOr("email_recoveries", true),
		Reminders:  o.boolOr("email_reminders", true),
		Line:       n.Line,
	}, true
}

// notifiers reads outage_webhooks and notifiers into s.Notifiers.
func (p *parser) notifiers(s *Site, site *obj) {
	counts := map[string]int{}
	names := map[string]int{} // name → line
	add := func(nt *Notifier, o *obj) {
		counts[nt.Type]++
		if o.has("name") {
			nt.Name = o.str("name")
		} else {
			nt.Name = fmt.Sprintf("%s-%d", nt.Type, counts[nt.Type])
		}
		if prev, dup := names[nt.Name]; dup {
			key := "name"
			if !o.present(key) {
				key = "type"
			}
			o.fail(key, "notifier name %q is already used on line %d; names must be unique", nt.Name, prev)
			return
		}
		names[nt.Name] = nt.Line
		s.Notifiers = append(s.Notifiers, nt)
	}
	// list reads the entries of the list key with read and keeps their
	// fields as written.
	list := func(key string, read func(i int, n *yaml.Node) *obj) {
		if !site.present(key) {
			return
		}
		var raw []any
		for i, n := range site.items(key, "") {
			if n != nil {
				raw = append(raw, read(i, n).raw)
			}
		}
		site.raw[key] = raw
	}
	list("outage_webhooks", func(i int, n *yaml.Node) *obj {
		o := p.object(n, fmt.Sprintf("site.outage_webhooks[%d].", i), "", tableKinds(webhookFields))
		p.validate(o, webhookFields, nil)
		p.webhookRules(o)
		add(&Notifier{Type: "webhook", Outages: true, Recoveries: true, Reminders: true,
			Fields: o.raw, Line: n.Line, Lines: o.lines}, o)
		return o
	})
	list("notifiers", func(i int, n *yaml.Node) *obj {
		nt, o := p.notifier(i, n)
		if nt != nil {
			add(nt, o)
		}
		return o
	})
}

// notifier reads one entry of site.notifiers; its type decides its fields.
func (p *parser) notifier(i int, n *yaml.Node) (*Notifier, *obj) {
	prefix := fmt.Sprintf("site.notifiers[%d].", i)
	o := p.object(n, prefix, "", tableKinds(allNotifierFields))
	typ, _ := o.raw["type"].(string)
	t, known := notifierFields[typ]
	all := join(notifierCommon, t)
	p.validate(o, all, func(key string) string {
		if !known {
			return "" // the type's own error says it all
		}
		if others := typesWith(notifierTypes, notifierFields, key); len(others) > 0 {
			return fmt.Sprintf("not valid for %s notifiers (it applies to %s)", typ, strings.Join(others, ", "))
		}
		return unknownField(key, all.names())
	})
	if !o.has("type") || !known {
		return nil, o
	}
	if typ == "webhook" {
		p.webhookRules(o)
	}
	return &Notifier{
		Type:       typ,
		Outages:    o.boolOr("outages", true),
		Recoveries: o.boolOr("recoveries", true),
		Reminders:  o.boolOr("reminders", true),
		Fields:     o.raw,
		Line:       n.Line,
		Lines:      o.lines,
	}, o
}

// webhookRules: APMonitor sends JSON only in a POST body.
func (p *parser) webhookRules(o *obj) {
	if o.str("request_encoding") == "JSON" && o.has("request_method") && o.str("request_method") != "POST" {
		o.fail("request_encoding", "JSON needs request_method: POST (got %s)", o.str("request_method"))
	}
}
