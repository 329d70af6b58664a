// Command smtp-check is a custom zappy check written in Go with the guest SDK.
// It walks a mail server through a real ESMTP dialog, one step at a time:
//
//	connect → 220 greeting → EHLO → STARTTLS → TLS handshake → EHLO → QUIT
//
// and reports the greeting, the advertised extensions, the TLS session and
// how long each step took. Any step that goes wrong turns the check down with
// a message naming the step and quoting the server, e.g.
//
//	EHLO: expected 250, server said "502 command not implemented"
//
// Build it (no TinyGo needed) from the repository root with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o smtp-check.wasm ./examples/smtp-check
//
// See README.md for how to run it.
package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

// schema describes the monitor fields the smtp type reads; the host uses it
// to validate configs and editors use it for completion.
const schema = `{"type":"object","properties":{
 "helo":{"type":"string","description":"name sent with EHLO (default zappy.local)"},
 "starttls":{"type":"boolean","description":"require STARTTLS and upgrade to TLS (default true)"},
 "ssl_fingerprint":{"type":"string","description":"SHA-256 pin of the server certificate (hex, colons optional)"},
 "verify_ssl":{"type":["boolean","string","integer"],"description":"false skips chain and hostname verification (default true)"},
 "ignore_ssl_expiry":{"type":["boolean","string","integer"],"description":"accept an expired certificate (default false)"},
 "server_name":{"type":"string","description":"name the certificate is verified against (default: the address host)"}}}`

func init() {
	zappy.Module("smtp-check", "1.0.0")
	zappy.Register(zappy.Type{
		Name:         "smtp",
		Description:  "ESMTP dialog: greeting, EHLO, STARTTLS, QUIT",
		Schema:       schema,
		Capabilities: []string{"tcp"}, // STARTTLS upgrades a TCP handle: no "tls" needed
	}, checkSMTP)
}

// main is never called: the host drives the module through its exports.
func main() {}

// defaultPort is used when the monitor's address has no port.
const defaultPort = 25

// config is the monitor's YAML, read once per run.
type config struct {
	helo     string
	starttls bool
	tls      zappy.TLSOptions
}

func readConfig(c *zappy.Check) (config, error) {
	cfg := config{
		helo:     c.Config.Get("helo").StrOr("zappy.local"),
		starttls: c.Config.Get("starttls").BoolOr(true),
		// The same TLS fields, with the same meaning, as the built-in
		// http and cert types.
		tls: zappy.TLSOptions{
			Fingerprint:  c.Config.Get("ssl_fingerprint").Str(),
			Insecure:     !c.Config.Get("verify_ssl").BoolOr(true),
			IgnoreExpiry: c.Config.Get("ignore_ssl_expiry").BoolOr(false),
			ServerName:   c.Config.Get("server_name").Str(),
		},
	}
	// The name goes on the wire as part of a command line: refuse anything
	// that could end the line early or smuggle in a second command.
	if cfg.helo == "" || strings.ContainsAny(cfg.helo, " \t\r\n") {
		return cfg, fmt.Errorf("helo %q must be a host name without spaces or line breaks", cfg.helo)
	}
	return cfg, nil
}

// checkSMTP runs one check. It keeps what it learns in a dialog so that even
// a failed run reports the steps that worked (the greeting, timings, the
// certificate that did not match its pin, ...).
func checkSMTP(c *zappy.Check) zappy.Result {
	cfg, err := readConfig(c)
	if err != nil {
		// A broken config is the check's fault, not the server's: status error.
		return zappy.ErrorMsg(err.Error())
	}
	start := time.Now()
	d := &dialog{timings: map[string]any{}}
	err = d.run(c, cfg)
	total := msSince(start)
	d.timings["total"] = total

	res := d.report()
	res.LatencyMS = total
	res = res.Metric("total_ms", total, "ms")
	if err != nil {
		// Down classifies the error: connection-level codes (refused,
		// timeout, dns, reset) give EXCEPTION_ERROR, a server answering
		// wrongly gives APPLICATION_ERROR.
		down := zappy.Down(err)
		res.Status, res.Class, res.Message = down.Status, down.Class, down.Message
		return res
	}
	res.Status = zappy.StatusUp
	secured := "no STARTTLS (starttls: false)"
	if d.tls != nil {
		secured = "STARTTLS " + d.tls.Version
	}
	res.Message = fmt.Sprintf("ESMTP ok, %s, %d extensions", secured, len(d.extensions))
	return res
}

// dialog is one SMTP conversation and what it revealed.
type dialog struct {
	conn       *zappy.Conn
	greeting   string
	extensions []string          // keywords of the last EHLO reply, upper-case
	params     map[string]string // their parameters, e.g. SIZE → "10240000"
	plainExts  []string          // keywords offered before STARTTLS
	tls        *zappy.TLSInfo
	timings    map[string]any // step → milliseconds
}

// run walks the dialog; every error names the step it happened in.
func (d *dialog) run(c *zappy.Check, cfg config) error {
	conn, err := c.DialTCP(zappy.HostPort(c.Target, defaultPort), nil)
	if err != nil {
		return err // already says "connect HOST:PORT: connection refused"
	}
	defer conn.Close()
	d.conn = conn
	d.timings["connect"] = conn.ConnectMS

	t := time.Now()
	greeting, err := d.expect("greeting", 220)
	if err != nil {
		return err
	}
	d.greeting = greeting.text()
	d.timings["greeting"] = msSince(t)

	if err := d.ehlo("EHLO", "ehlo", cfg.helo); err != nil {
		return err
	}
	if cfg.starttls {
		if err := d.startTLS(cfg); err != nil {
			return err
		}
		// RFC 3207: the client must forget what it knew and ask again;
		// servers often offer more (AUTH) once the session is private.
		d.plainExts = d.extensions
		if err := d.ehlo("EHLO after STARTTLS", "ehlo_tls", cfg.helo); err != nil {
			return err
		}
	}

	t = time.Now()
	if _, err := d.command("QUIT", "QUIT", 221); err != nil {
		return err
	}
	d.timings["quit"] = msSince(t)
	return nil
}

// ehlo greets the server and records the extensions it advertises.
func (d *dialog) ehlo(step, timing, helo string) error {
	t := time.Now()
	r, err := d.command(step, "EHLO "+helo, 250)
	if err != nil {
		return err
	}
	d.timings[timing] = msSince(t)
	d.extensions, d.params = parseExtensions(r)
	return nil
}

// startTLS asks for STARTTLS and upgrades the connection in place.
func (d *dialog) startTLS(cfg config) error {
	if _, offered := d.params["STARTTLS"]; !offered {
		return fmt.Errorf("STARTTLS: the server does not offer it (EHLO advertised %s); set starttls: false to check plain SMTP",
			listOrNone(d.extensions))
	}
	t := time.Now()
	if _, err := d.command("STARTTLS", "STARTTLS", 220); err != nil {
		return err
	}
	d.timings["starttls"] = msSince(t)

	// The host verifies the certificate exactly as for the built-in types:
	// chain and host name, unless pinned (ssl_fingerprint) or verify_ssl is
	// false. It also refuses to upgrade if the server sent anything after
	// its 220 (the STARTTLS command-injection attack). On a failed
	// handshake it still describes the certificate it saw, which goes into
	// the report: handy for fixing a pin.
	info, err := d.conn.StartTLS(cfg.tls)
	if info != nil && info.Fingerprint != "" {
		d.tls = info
		d.timings["tls"] = info.JSON.Get("handshake_ms").Float()
	}
	if err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	return nil
}

// command sends one command line and expects a reply with code want.
func (d *dialog) command(step, line string, want int) (reply, error) {
	if err := d.conn.WriteString(line + "\r\n"); err != nil {
		return reply{}, fmt.Errorf("%s: %w", step, err)
	}
	return d.expect(step, want)
}

// expect reads one reply and checks its code.
func (d *dialog) expect(step string, want int) (reply, error) {
	r, err := readReply(d.conn)
	if err != nil {
		// Wrapping with %w keeps the host's error code, so zappy.Down
		// still sees a timeout or a reset as a connection-level failure.
		return r, fmt.Errorf("%s: %w", step, err)
	}
	if r.code != want {
		return r, fmt.Errorf("%s: expected %d, server said %s", step, want, quote(r.raw()))
	}
	return r, nil
}

// report turns what the dialog learned into fields for `assert:` and
// metrics for graphs.
func (d *dialog) report() zappy.Result {
	res := zappy.Result{Fields: map[string]any{"timings": d.timings}}
	if d.greeting != "" {
		res.Fields["greeting"] = d.greeting
	}
	if d.extensions != nil {
		res.Fields["extensions"] = d.extensions
		res.Fields["extension_params"] = d.params
	}
	if d.plainExts != nil {
		res.Fields["plain_extensions"] = d.plainExts
	}
	if d.tls != nil {
		res.Fields["tls"] = map[string]any{
			"version":     d.tls.Version,
			"cipher":      d.tls.CipherSuite,
			"fingerprint": d.tls.Fingerprint,
			"days_left":   d.tls.DaysLeft,
			"subject":     d.tls.Subject,
			"verified":    d.tls.Verified,
			"pinned":      d.tls.Pinned,
		}
	}
	for _, m := range []struct{ metric, step string }{
		{"connect_ms", "connect"}, {"greeting_ms", "greeting"}, {"tls_ms", "tls"},
	} {
		if v, ok := d.timings[m.step].(float64); ok {
			res = res.Metric(m.metric, v, "ms")
		}
	}
	return res
}

// reply is one SMTP reply (RFC 5321 section 4.2): a three-digit code and
// one or more lines of text. Every line but the last has a "-" after the
// code: "250-mail.example.com", "250-SIZE 10240000", "250 STARTTLS".
type reply struct {
	code  int
	lines []string // the text after "250-" / "250 "
}

// maxReplyLines stops a server that streams continuation lines forever.
const maxReplyLines = 100

// readReply reads lines until the last line of one reply.
func readReply(conn *zappy.Conn) (reply, error) {
	var r reply
	for {
		line, err := conn.ReadLine()
		if err != nil {
			return r, err
		}
		code, text, more, ok := splitReplyLine(line)
		if !ok {
			return r, fmt.Errorf("malformed reply %s (is this an SMTP server?)", quote(line))
		}
		if len(r.lines) > 0 && code != r.code {
			return r, fmt.Errorf("reply code changed from %d to %d within one reply: %s", r.code, code, quote(line))
		}
		r.code = code
		r.lines = append(r.lines, text)
		if !more {
			return r, nil
		}
		if len(r.lines) == maxReplyLines {
			return r, fmt.Errorf("reply longer than %d lines", maxReplyLines)
		}
	}
}

// splitReplyLine parses "250-text", "250 text" or a bare "250".
func splitReplyLine(line string) (code int, text string, more, ok bool) {
	if len(line) < 3 {
		return 0, "", false, false
	}
	code, err := strconv.Atoi(line[:3])
	if err != nil || code < 200 || code > 599 {
		return 0, "", false, false
	}
	if len(line) == 3 {
		return code, "", false, true
	}
	switch line[3] {
	case '-':
		return code, line[4:], true, true
	case ' ':
		return code, line[4:], false, true
	}
	return 0, "", false, false
}

// text is the reply's text, lines joined by spaces.
func (r reply) text() string { return strings.Join(r.lines, " ") }

// raw is the reply as the server sent it, lines joined by spaces.
func (r reply) raw() string {
	parts := make([]string, len(r.lines))
	for i, l := range r.lines {
		sep := "-"
		if i == len(r.lines)-1 {
			sep = " "
		}
		parts[i] = strings.TrimRight(strconv.Itoa(r.code)+sep+l, " ")
	}
	return strings.Join(parts, " ")
}

// parseExtensions reads an EHLO reply: the first line is the server's name
// and greeting, each further line one extension keyword with optional
// parameters ("SIZE 10240000", "AUTH PLAIN LOGIN").
func parseExtensions(r reply) (keywords []string, params map[string]string) {
	keywords = []string{}
	params = map[string]string{}
	for _, line := range r.lines[1:] {
		kw, param, _ := strings.Cut(strings.TrimSpace(line), " ")
		if kw == "" {
			continue
		}
		kw = strings.ToUpper(kw)
		if _, dup := params[kw]; !dup {
			keywords = append(keywords, kw)
		}
		params[kw] = strings.TrimSpace(param)
	}
	return keywords, params
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "no extensions"
	}
	return strings.Join(list, ", ")
}

// quote shows what the server said, shortened to fit in an alert.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
