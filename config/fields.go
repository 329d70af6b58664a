package config

import (
	"math"
	"strings"
	"time"
)

// kind is how a field's value is read and checked.
type kind int

const (
	kAny         kind = iota // anything (a custom module's own fields)
	kString                  // a string, possibly empty
	kText                    // a non-empty string
	kData                    // a non-empty string in which white space counts ("\r\n")
	kInt                     // an integer
	kNumber                  // an integer or a decimal number
	kBool                    // true/yes/on/1 or false/no/off/0
	kBoolOK                  // kBool, plus "ok" for true (ignore_ssl_expiry)
	kDuration                // a Go duration string ("1m30s") or integer seconds
	kEnum                    // one string of a fixed list
	kURL                     // an http:// or https:// URL with a host
	kEmail                   // an email address
	kStrings                 // a string or a list of non-empty strings
	kExprs                   // an expr expression or a list of them
	kStringMap               // a mapping of names to strings
	kStatuses                // an HTTP status code or a list of them
	kFingerprint             // a hex certificate fingerprint
	kMAC                     // XX:XX:XX:XX:XX:XX
	kCron                    // a cron spec
	kTimezone                // an IANA time zone name
	kPath                    // a file path
	kSNMPVersion             // 1, 2c or 3
	kType                    // a monitor's type
	kObject                  // a mapping with its own field table
	kObjects                 // a list of such mappings
)

// keepsString reports whether a plain ${VAR} in a field of this kind stays
// a string. Other kinds read the expanded text as YAML would have read it
// in place (`port: ${PORT}` is a number), and kAny does so too, since a
// custom module's fields are unknown here.
func (k kind) keepsString() bool {
	switch k {
	case kAny, kInt, kNumber, kBool, kBoolOK, kDuration, kStatuses, kSNMPVersion:
		return false
	}
	return true
}

// elem is the kind of the items of a list or mapping field.
func (k kind) elem() kind {
	switch k {
	case kStrings, kExprs, kStringMap:
		return kString
	case kStatuses:
		return kInt
	}
	return kAny
}

// field describes one configuration key.
type field struct {
	name     string
	kind     kind
	doc      string
	def      any     // documented default
	min, max float64 // bounds of numbers; seconds for durations
	hasMin   bool
	hasMax   bool
	enum     []string
	required bool
	secret   bool    // never quote its value in errors
	oneLine  bool    // kText: no line breaks or control characters
	sub      []field // kObject/kObjects: the nested table
}

type opt func(*field)

func f(name string, k kind, doc string, opts ...opt) field {
	fd := field{name: name, kind: k, doc: doc}
	for _, o := range opts {
		o(&fd)
	}
	if isSecretName(name) {
		fd.secret = true
	}
	return fd
}

// maxSecs is the largest whole number of seconds a time.Duration holds
// (about 292 years): more would wrap round to a short or negative interval.
// defaultWarnDays is a cert monitor's warn_days when it gives none (the
// built-in cert module's default too).
const defaultWarnDays = 14

const maxSecs = float64(math.MaxInt64 / int64(time.Second))

// seconds bounds a field of whole seconds (check_every_n_secs, ...).
var seconds = between(1, maxSecs)

func atLeast(v float64) opt { return func(f *field) { f.min, f.hasMin = v, true } }
func between(lo, hi float64) opt {
	return func(f *field) { f.min, f.max, f.hasMin, f.hasMax = lo, hi, true, true }
}
func oneOf(vals ...string) opt { return func(f *field) { f.enum = vals } }
func def(v any) opt            { return func(f *field) { f.def = v } }
func required(f *field)        { f.required = true }
func secret(f *field)          { f.secret = true }
func sub(fields ...field) opt  { return func(f *field) { f.sub = fields } }

// oneLine: a name is one line of text, since a line break or control
// character in it would split the one-line results and messages it is in.
func oneLine(f *field) { f.oneLine = true }

// isSecretName: fields whose value must never appear in an error.
func isSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"password", "token", "key", "passphrase", "secret"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// table is an ordered list of fields with lookup by name.
type table []field

func (t table) get(name string) *field {
	for i := range t {
		if t[i].name == name {
			return &t[i]
		}
	}
	return nil
}

func (t table) names() []string {
	out := make([]string, len(t))
	for i, f := range t {
		out[i] = f.name
	}
	return out
}

func join(tables ...table) table {
	var out table
	for _, t := range tables {
		out = append(out, t...)
	}
	return out
}

// The top level of a file.
var topFields = table{
	f("site", kObject, "Site-level settings that apply to every monitor.", sub(siteFields...)),
	f("monitors", kObjects, "The resources to check.", required),
}

var emailServerFields = table{
	f("smtp_host", kText, "SMTP server host name or IP address.", required),
	f("smtp_port", kInt, "SMTP server port (587 for STARTTLS, 465 for implicit TLS, 25 unencrypted).", required, between(1, 65535)),
	f("smtp_username", kString, "SMTP authentication user name (optional: servers without authentication)."),
	f("smtp_password", kString, "SMTP authentication password (optional). Use ${VAR} to keep it out of the file."),
	f("from_address", kEmail, "Address of the From header.", required),
	f("use_tls", kBool, "APMonitor's switch for encryption: true means STARTTLS (implicit TLS on port 465), false none.", def(true)),
	f("tls", kEnum, "Encryption, overriding use_tls: starttls, implicit (TLS from the first byte) or none.", oneOf("starttls", "implicit", "none")),
	f("verify_tls", kBool, "Verify the server's certificate chain and host name.", def(true)),
	f("ca_file", kPath, "PEM file of CA certificates trusted to verify the server, besides the system's (relative to the configuration file): for a private CA."),
}

var recipientFields = table{
	f("email", kEmail, "Address to notify.", required),
	f("email_outages", kBool, "Send an email when a monitor goes down.", def(true)),
	f("email_recoveries", kBool, "Send an email when a monitor recovers.", def(true)),
	f("email_reminders", kBool, "Send reminder emails while an outage lasts.", def(true)),
}

var webhookFields = table{
	f("endpoint_url", kURL, "URL the message is sent to.", required),
	f("request_method", kEnum, "HTTP method.", required, oneOf("GET", "POST")),
	f("request_encoding", kEnum, "How the message is encoded: URL (URL-encoded), HTML (HTML-escaped), JSON (a JSON object with a message field; POST only) or CSVQUOTED (CSV-quoted).", required, oneOf("URL", "HTML", "JSON", "CSVQUOTED")),
	f("request_prefix", kString, "Text put before the encoded message (API tokens, field names)."),
	f("request_suffix", kString, "Text put after the encoded message."),
	f("headers", kStringMap, "Extra HTTP request headers."),
}

var reportFields = table{
	f("every", kDuration, "Interval of the report of every monitor that is still failing, e.g. 24h.", required, atLeast(60)),
}

// notifierTypes lists the notifier types in documentation order.
var notifierTypes = []string{"slack", "teams", "discord", "pushover", "ntfy", "pagerduty", "alertmanager", "webhook"}

var notifierCommon = table{
	f("type", kEnum, "Notifier type.", required, oneOf(notifierTypes...)),
	f("name", kText, "Name of the channel in logs and the dashboard (default <type>-<n>)."),
	f("outages", kBool, "Notify when a monitor goes down.", def(true)),
	f("recoveries", kBool, "Notify when a monitor recovers.", def(true)),
	f("reminders", kBool, "Send reminders while an outage lasts.", def(true)),
}

func chatWebhook(what string) table {
	return table{f("webhook_url", kURL, what+" incoming-webhook URL (it embeds a credential; it is never shown in errors).", required, secret)}
}

var notifierFields = map[string]table{
	"slack":   chatWebhook("Slack"),
	"teams":   chatWebhook("Microsoft Teams"),
	"discord": chatWebhook("Discord"),
	"pushover": {
		f("token", kText, "Pushover application token.", required),
		f("user", kText, "Pushover user or group key.", required, secret),
		f("priority", kInt, "Message priority, -2 (lowest) to 2 (emergency).", between(-2, 2)),
		f("sound", kText, "Notification sound name."),
		f("api_url", kURL, "API endpoint.", def("https://api.pushover.net/1/messages.json")),
	},
	"ntfy": {
		f("url", kURL, "Topic URL, e.g. https://ntfy.sh/mytopic.", required),
		f("token", kText, "Access token."),
		f("priority", kInt, "Message priority, 1 (min) to 5 (max).", between(1, 5)),
		f("tags", kStrings, "Tags (emoji short codes) added to messages."),
	},
	"pagerduty": {
		f("routing_key", kText, "Events API v2 integration (routing) key.", required),
		f("severity", kEnum, "Severity of triggered events.", oneOf("critical", "error", "warning", "info"), def("critical")),
		f("api_url", kURL, "Events API endpoint.", def("https://events.pagerduty.com/v2/enqueue")),
	},
	"alertmanager": {
		f("url", kURL, "Alertmanager base URL, e.g. http://alertmanager:9093.", required),
		f("labels", kStringMap, "Extra labels on every alert."),
		f("repeat_every", kDuration, "Re-send firing alerts this often so Alertmanager does not resolve them.", atLeast(1)),
	},
	"webhook": webhookFields,
}

var siteFields = table{
	f("name", kText, "Name of the site, used in messages (default: the file name without its extension).", oneLine),
	f("timezone", kTimezone, "IANA time zone messages are rendered in, e.g. Europe/Berlin.", def("Local")),
	f("email_server", kObject, "SMTP server for outage emails; required by outage_emails.", sub(emailServerFields...)),
	f("outage_emails", kObjects, "Email recipients of outage, recovery and reminder messages (needs email_server).", sub(recipientFields...)),
	f("outage_webhooks", kObjects, "APMonitor-style webhooks called on outages and recoveries.", sub(webhookFields...)),
	f("notifiers", kObjects, "More notification channels: slack, teams, discord, pushover, ntfy, pagerduty, alertmanager, webhook."),
	f("report", kObject, "Periodic report of everything still failing.", sub(reportFields...)),
	f("max_threads", kInt, "Checks running at once. zappy's checks are asynchronous, not threads, so the default is 64 rather than APMonitor's 1, which would serialise the daemon; an explicit value is honoured.", atLeast(1), def(DefaultMaxThreads)),
	f("max_retries", kInt, "Attempts per check run before a monitor counts as down.", atLeast(1), def(DefaultMaxRetries)),
	f("max_try_secs", kInt, "Bound of one check attempt, in seconds.", seconds, def(int(DefaultMaxTry/time.Second))),
	f("check_every_n_secs", kInt, "Default seconds between checks.", seconds, def(int(DefaultCheckEvery/time.Second))),
	f("notify_every_n_secs", kInt, "Default minimum seconds between notifications of an ongoing outage.", seconds, def(int(DefaultNotifyEvery/time.Second))),
	f("after_every_n_notifications", kInt, "Default number of notifications after which their interval reaches notify_every_n_secs (1: constant intervals).", atLeast(1), def(DefaultAfterEveryN)),
	f("alarms", kBool, "Master switch of all notifications of the site.", def(true)),
	f("failures_before_outage", kInt, "Consecutive failed checks before an outage is declared.", atLeast(1), def(DefaultFailuresBeforeOutage)),
	f("successes_before_recovery", kInt, "Consecutive successful checks before an outage is cleared.", atLeast(1), def(DefaultSuccessesBeforeRecovery)),
	f("flap_window", kInt, "Number of recent results flapping is judged over.", atLeast(2), def(DefaultFlapWindow)),
	f("flap_changes", kInt, "Status changes within flap_window that mark a monitor as flapping (0 disables flap detection).", atLeast(0), def(DefaultFlapChanges)),
	f("history_retention", kDuration, "How long check results are kept.", atLeast(1), def("168h")),
	f("prune_removed_after", kDuration, "How long the state of a monitor removed from the file is kept.", atLeast(0), def("24h")),
}

// monitorTypes are the types zappy knows without a module, in
// documentation order, with what their address is.
var monitorTypes = []string{"ping", "http", "quic", "tcp", "udp", "cert", "ports", "port", "host"}

var typeDocs = map[string]string{
	"ping":  "ICMP echo. address: a host name, IPv4 or IPv6 address (no scheme).",
	"http":  "HTTP or HTTPS request. address: an http:// or https:// URL.",
	"quic":  "HTTP/3 request over QUIC. address: an https:// URL.",
	"tcp":   "TCP connect, optionally send and expect. address: tcp://host:port.",
	"udp":   "UDP datagram and reply. address: udp://host:port.",
	"cert":  "TLS certificate check. address: host:port, tls://host:port, tcp://host:port (with starttls) or an https:// URL.",
	"ports": "SNMP switch/router monitor: interface states, MAC changes, traffic. address: snmp://host[:port].",
	"port":  "SNMP single switch port pinned to one MAC address. address: snmp://host[:port].",
	"host":  "SNMP host performance monitor (CPU, memory, disk I/O, swap). address: snmp://host[:port].",
}

// typePattern is what a custom module's type names must look like.
const typePattern = `^[a-z][a-z0-9_.-]{0,63}$`

var monitorCommon = table{
	f("type", kType, "Check type: "+strings.Join(monitorTypes, ", ")+", or a type of the module named by module.", required),
	f("name", kText, "Unique name of the monitor, used in messages and by depends.", required, oneLine),
	f("address", kText, "What to check; its form depends on the type.", required),
	f("description", kString, "Free text shown with the monitor."),
	f("check_every_n_secs", kInt, "Seconds between checks (default: the site's, 60).", seconds),
	f("every", kDuration, "Interval between checks as a duration (\"30s\", \"1m30s\") or seconds; the same as check_every_n_secs.", atLeast(1)),
	f("cron", kCron, "Cron schedule instead of an interval: 5 fields, an optional leading seconds field, or @hourly, @daily, @every 5m, ... (site time zone unless CRON_TZ= is given)."),
	f("jitter", kDuration, "Largest random delay added to each scheduled check, to spread load; less than the interval.", atLeast(0)),
	f("notify_every_n_secs", kInt, "Minimum seconds between notifications of an ongoing outage; at least check_every_n_secs (default: the site's, 600).", seconds),
	f("notify_every", kDuration, "notify_every_n_secs as a duration.", atLeast(1)),
	f("after_every_n_notifications", kInt, "Notifications after which their interval reaches notify_every_n_secs, growing on a quadratic Bezier curve until then; needs notify_every_n_secs on the monitor.", atLeast(1)),
	f("email", kBool, "Email notifications for this monitor (when the site has an email_server).", def(true)),
	f("display", kBool, "Show the monitor on dashboards; monitoring and alerting continue when false.", def(true)),
	f("alarms", kBool, "Notifications for this monitor; overrides the site's alarms.", def(true)),
	f("heartbeat_url", kURL, "URL fetched (HTTP GET) after successful checks, for an external dead man's switch."),
	f("heartbeat_every_n_secs", kInt, "Seconds between heartbeats (default: after every successful check); needs heartbeat_url.", seconds),
	f("heartbeat_every", kDuration, "heartbeat_every_n_secs as a duration.", atLeast(1)),
	f("max_retries", kInt, "Attempts per check run (default: the site's, 3).", atLeast(1)),
	f("max_try_secs", kInt, "Bound of one attempt in seconds (default: the site's, 20).", seconds),
	f("timeout", kDuration, "Bound of one attempt as a duration; sub-second values like \"500ms\" are allowed. The same as max_try_secs.", atLeast(0.001)),
	f("failures_before_outage", kInt, "Consecutive failed checks before an outage is declared (default: the site's, 1).", atLeast(1)),
	f("successes_before_recovery", kInt, "Consecutive successful checks before an outage is cleared (default: the site's, 1).", atLeast(1)),
	f("flap_window", kInt, "Recent results flapping is judged over (default: the site's, 20).", atLeast(2)),
	f("flap_changes", kInt, "Status changes within flap_window that mean flapping; 0 disables (default: the site's, 6).", atLeast(0)),
	f("assert", kExprs, "An expr expression, or a list, on the check's result fields; any false one makes the check down."),
	f("degraded_if", kExprs, "An expr expression, or a list; a true one makes an up check degraded."),
	f("allow", kStrings, "Extra destinations the check may reach: host names, *.domain, IPs, CIDR prefixes, each optionally with :port."),
	f("module", kPath, "Path of a custom check module (.wasm) that provides the type (relative to the configuration file). Its manifest validates the monitor's other fields."),
	f("depends", kStrings, "Name of a monitor, or a list, this one depends on: while one of them is down, this monitor's outages are not notified."),
}

// Fields shared by several types.
var (
	fExpect         = f("expect", kData, "Text the response must contain (case-sensitive; spaces and line breaks count).")
	fSSLFingerprint = f("ssl_fingerprint", kFingerprint, "SHA-256 fingerprint of the expected certificate (hex, colons allowed); a pinned certificate is not checked against CAs or the host name.")
	fIgnoreExpiry   = f("ignore_ssl_expiry", kBoolOK, "Accept a certificate outside its validity dates (true/yes/ok/on/1).", def(false))
	fVerifySSL      = f("verify_ssl", kBool, "false skips certificate chain and host name verification.", def(true))
	fServerName     = f("server_name", kText, "TLS server name to present and verify (default: the address's host).")
	fSend           = f("send", kString, "Data to send.")
	fRawContentType = f("content_type", kEnum, "Encoding of send: text, hex (spaces, colons, tabs and line breaks ignored) or base64 (white space ignored); needs send.", oneOf("text", "hex", "base64"), def("text"))
	fCommunity      = f("community", kText, "SNMP v1/v2c community.", def("public"))
	fPercentile     = f("percentile", kInt, "Percentile shown under traffic graphs (95 for burstable billing).", between(1, 99))
	snmpFields      = table{
		fCommunity,
		f("version", kSNMPVersion, "SNMP version: 1, 2c or 3.", def("2c")),
		f("username", kText, "SNMPv3 user name (required with version 3)."),
		f("auth_protocol", kEnum, "SNMPv3 authentication protocol.", oneOf("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")),
		f("auth_passphrase", kText, "SNMPv3 authentication passphrase (at least 8 characters)."),
		f("priv_protocol", kEnum, "SNMPv3 privacy (encryption) protocol; needs authentication.", oneOf("DES", "AES", "AES192", "AES256", "AES192C", "AES256C")),
		f("priv_passphrase", kText, "SNMPv3 privacy passphrase (at least 8 characters)."),
		f("context_name", kString, "SNMPv3 context name."),
	}
	httpFields = table{
		fExpect, fSSLFingerprint, fIgnoreExpiry,
		f("send", kString, "Request body; makes the request a POST."),
		f("content_type", kString, "Content-Type of send, a MIME type; needs send.", def("text/plain; charset=utf-8")),
		f("method", kText, "HTTP method (default GET, or POST with send)."),
		f("headers", kStringMap, "Extra request headers."),
		f("expect_status", kStatuses, "Accepted status code or list of them (default: any 2xx)."),
		fVerifySSL, fServerName,
		f("max_redirects", kInt, "Redirects to follow; 0 returns the redirect itself.", atLeast(0), def(10)),
		f("max_body_bytes", kInt, "Cap on the body bytes read.", atLeast(1), def(1<<20)),
	}
)

// typeFields are the fields specific to each type.
var typeFields = map[string]table{
	"http": httpFields,
	"quic": httpFields,
	"tcp":  {fSend, fRawContentType, fExpect},
	"udp": {
		f("send", kData, "The datagram (required, not empty).", required), fRawContentType, fExpect,
		f("fire_and_forget", kBool, "The service never answers (syslog, statsd): up when the datagram was sent and no ICMP port-unreachable came back. Not with expect.", def(false)),
	},
	"ping": {
		f("count", kInt, "Echo requests per check (at most 10000).", between(1, 10000), def(3)),
		f("interval_ms", kInt, "Milliseconds between requests (10 to 60000).", between(10, 60000), def(200)),
		f("packet_size", kInt, "Payload bytes.", between(16, 65507), def(56)),
		f("ttl", kInt, "IP TTL / hop limit (default: the OS's).", between(1, 255)),
		f("degraded_loss_pct", kNumber, "Loss (%) at or above which the host is degraded rather than up (default: any loss).", between(0, 100)),
	},
	"cert": {
		f("warn_days", kNumber, "Degraded when the certificate expires within this many days.", atLeast(0), def(defaultWarnDays)),
		f("critical_days", kNumber, "Down when it expires within this many days (0: only once expired).", atLeast(0), def(0)),
		fSSLFingerprint, fIgnoreExpiry, fVerifySSL, fServerName,
		f("starttls", kEnum, "Upgrade a plain-text mail connection before the handshake.", oneOf("smtp", "imap", "pop3")),
	},
	"ports": join(snmpFields, table{fPercentile}),
	"port": join(snmpFields, table{
		fPercentile,
		f("port", kInt, "ifIndex of the switch port (as IF-MIB numbers it, not a zero-based port number).", required, atLeast(0)),
		f("mac", kMAC, "MAC address pinned to the port, XX:XX:XX:XX:XX:XX (any case).", required),
		f("always_up", kBool, "true: alarm when the port is down or the pinned MAC is absent; false: alarm only on a wrong MAC.", def(false)),
	}),
	"host": snmpFields,
}

// typesWith lists, in types' order, the types whose own fields (in own)
// include name, for messages.
func typesWith(types []string, own map[string]table, name string) []string {
	var out []string
	for _, t := range types {
		if own[t].get(name) != nil {
			out = append(out, t)
		}
	}
	return out
}

// allFields is common plus every type's own fields; a name has the same
// kind (as far as ${VAR} typing goes) in every type that has it.
func allFields(common table, types []string, own map[string]table) table {
	all := append(table{}, common...)
	for _, typ := range types {
		for _, fd := range own[typ] {
			if all.get(fd.name) == nil {
				all = append(all, fd)
			}
		}
	}
	return all
}

// allMonitorFields and allNotifierFields are every field of every built-in
// monitor and notifier type.
var (
	allMonitorFields  = allFields(monitorCommon, monitorTypes, typeFields)
	allNotifierFields = allFields(notifierCommon, notifierTypes, notifierFields)
)
