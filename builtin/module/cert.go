package main

import (
	"math"
	"strconv"
	"strings"
	"time"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

const certSchema = `{"type":"object","properties":{
 "warn_days":{"type":"number","description":"degraded when the certificate expires within this many days (default 14)"},
 "critical_days":{"type":"number","description":"down when it expires within this many days (default 0: only once expired)"},
 "ssl_fingerprint":{"type":"string","description":"SHA-256 pin of the leaf certificate"},
 "ignore_ssl_expiry":{"type":["boolean","string","integer"]},
 "verify_ssl":{"type":["boolean","string","integer"],"description":"false skips chain and hostname verification"},
 "server_name":{"type":"string","description":"SNI and verification name (default: the address host)"},
 "starttls":{"enum":["smtp","imap","pop3"],"description":"upgrade a plain-text mail connection before the handshake"}}}`

// checkCert inspects the TLS certificate of any TLS port: validity, chain and
// hostname (unless pinned or opted out), pin, and days until expiry.
func checkCert(c *zappy.Check) zappy.Result {
	o, err := tlsOptions(c)
	if err != nil {
		return zappy.Down(err)
	}
	ignoreExpiry := o.IgnoreExpiry
	handshake := func(o zappy.TLSOptions) (*zappy.TLSInfo, error) {
		if proto := strings.ToLower(c.Config.Get("starttls").Str()); proto != "" {
			return startTLS(c, proto, o)
		}
		return c.TLS(zappy.HostPort(c.Target, 443), o, 0)
	}
	// Expiry is judged below against warn/critical days; the handshake only
	// refuses what is wrong besides dates, so an expired certificate still
	// yields its details.
	o.IgnoreExpiry = true
	info, err := handshake(o)
	if info == nil || (err != nil && info.Fingerprint == "") {
		return zappy.Down(err)
	}
	leaf := info.JSON.Get("chain").Index(0)
	res := zappy.Result{Fields: map[string]any{
		"cert": leaf, "chain": info.JSON.Get("chain"), "days_left": info.DaysLeft, "fingerprint": info.Fingerprint,
		"version": info.Version, "cipher_suite": info.CipherSuite, "alpn": info.ALPN,
		"verified": info.Verified, "pinned": info.Pinned, "subject": info.Subject, "issuer": info.Issuer,
		"not_before": info.NotBefore, "not_after": info.NotAfter,
	}}
	handshakeMS := info.JSON.Get("handshake_ms").Float()
	res = res.Metric("days_left", info.DaysLeft, "").Metric("handshake_ms", handshakeMS, "ms")
	res.LatencyMS = handshakeMS
	if err != nil {
		return withFields(zappy.Down(err), res)
	}
	// Dates are judged to the second: the host's days_left is rounded to
	// hundredths, so a certificate that expired minutes ago shows -0.00.
	now := time.Now()
	days := info.DaysLeft
	left := strconv.FormatFloat(math.Abs(days), 'f', 1, 64) + " days"
	if notAfter, err := time.Parse(time.RFC3339Nano, info.NotAfter); err == nil {
		days = notAfter.Sub(now).Hours() / 24
		left = span(notAfter.Sub(now))
	}
	warn := c.Config.Get("warn_days").Float()
	if !c.Config.Get("warn_days").Exists() {
		warn = 14
	}
	critical := c.Config.Get("critical_days").Float()
	subject := leaf.Get("subject").Str()
	notBefore, _ := time.Parse(time.RFC3339Nano, info.NotBefore)
	early := !notBefore.IsZero() && now.Before(notBefore)
	validFrom := "not valid before " + notBefore.UTC().Format(time.RFC3339)
	if !ignoreExpiry && !early && days >= 0 && info.Verified && chainOutOfDates(info, now) {
		// The chain was verified at a moment when all of it was valid,
		// and some certificate besides the leaf is not valid now: verify
		// again now, which may still succeed along another path to a
		// root (an expired cross-signed root sent by the server).
		o.IgnoreExpiry = false
		if _, err := handshake(o); err != nil {
			return withFields(zappy.Down(err), res)
		}
	}
	switch {
	case early && !ignoreExpiry:
		return withFields(zappy.DownMsg("certificate "+subject+" is "+validFrom+" (in "+span(notBefore.Sub(now))+")"), res)
	case days < 0 && !ignoreExpiry:
		return withFields(zappy.DownMsg("certificate "+subject+" expired "+left+" ago ("+info.NotAfter+")"), res)
	case days < critical && !ignoreExpiry:
		return withFields(zappy.DownMsg("certificate "+subject+" expires in "+left+" (critical below "+strconv.FormatFloat(critical, 'f', -1, 64)+")"), res)
	case days < warn && !ignoreExpiry:
		res.Status = zappy.StatusDegraded
		res.Message = "certificate " + subject + " expires in " + left + " (warning below " + strconv.FormatFloat(warn, 'f', -1, 64) + ")"
		return res
	}
	how := "verified"
	if info.Pinned {
		how = "pin matched"
	} else if !info.Verified {
		how = "not verified (verify_ssl: false)"
	}
	switch {
	case early:
		left = validFrom + " (ignore_ssl_expiry)"
	case days < 0:
		left = "expired " + left + " ago (ignore_ssl_expiry)"
	default:
		left = "expires in " + left
	}
	res.Status = zappy.StatusUp
	res.Message = "certificate " + subject + " " + how + ", " + left
	return res
}

// span is a time to or since a certificate date: days to one decimal,
// or whole minutes under a tenth of a day ("0.0 days" says too little).
func span(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	if d < 144*time.Minute {
		return itoa(int(d/time.Minute)) + " minute(s)"
	}
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
}

// chainOutOfDates reports whether a certificate of the presented chain
// other than the leaf is outside its validity dates at now.
func chainOutOfDates(info *zappy.TLSInfo, now time.Time) bool {
	for i, cert := range info.JSON.Get("chain").Array() {
		if i == 0 {
			continue
		}
		nb, err1 := time.Parse(time.RFC3339Nano, cert.Get("not_before").Str())
		na, err2 := time.Parse(time.RFC3339Nano, cert.Get("not_after").Str())
		if err1 == nil && err2 == nil && (now.Before(nb) || now.After(na)) {
			return true
		}
	}
	return false
}

// startTLS speaks just enough of a mail protocol to reach its TLS upgrade.
func startTLS(c *zappy.Check, proto string, o zappy.TLSOptions) (*zappy.TLSInfo, error) {
	defaults := map[string]int{"smtp": 25, "imap": 143, "pop3": 110}
	port, ok := defaults[proto]
	if !ok {
		return nil, invalid("starttls " + strconv.Quote(proto) + ": want smtp, imap or pop3")
	}
	conn, err := c.DialTCP(zappy.HostPort(c.Target, port), nil)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	expectLine := func(prefix string) error {
		for {
			line, err := conn.ReadLine()
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, prefix) {
				return &zappy.Error{Code: "protocol", Message: proto + " server said " + quote([]byte(line)) + ", expected " + prefix}
			}
			// SMTP multi-line replies continue with "250-".
			if proto != "smtp" || len(line) < 4 || line[3] != '-' {
				return nil
			}
		}
	}
	steps := map[string][][2]string{
		"smtp": {{"", "220"}, {"EHLO zappy\r\n", "250"}, {"STARTTLS\r\n", "220"}},
		"imap": {{"", "* OK"}, {"a1 STARTTLS\r\n", "a1 OK"}},
		"pop3": {{"", "+OK"}, {"STLS\r\n", "+OK"}},
	}[proto]
	for _, s := range steps {
		if s[0] != "" {
			if err := conn.WriteString(s[0]); err != nil {
				return nil, err
			}
		}
		if err := expectLine(s[1]); err != nil {
			return nil, err
		}
	}
	if o.ServerName == "" {
		o.ServerName = zappy.Host(c.Target)
	}
	return conn.StartTLS(o)
}
