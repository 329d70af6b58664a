// Package email delivers events as e-mail through an SMTP server, with
// github.com/wneessen/go-mail as the SMTP client (STARTTLS, implicit TLS,
// and AUTH with the strongest mechanism both sides support).
//
// Mails of one outage are threaded as picomon threads them: the outage
// notice has the Message-ID <zappy-outage-{OutageID}@{domain of From}>, and
// its reminders and recovery refer to it (In-Reply-To, References), so a
// threading mail client shows one outage as one conversation. A change a
// module reported (a switch port going down) is not part of an outage: it
// stands alone with a Message-ID of its own, and goes to the recipients
// that get outage notices.
//
// Email is not in the notify registry: it needs the site's server and its
// list of recipients, each choosing which kinds of mail they get.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/zappy-mon/zappy/runtime/notify"
)

// DefaultTimeout bounds one delivery (connection, TLS, AUTH and DATA)
// unless Server.Timeout or the caller's context says otherwise.
const DefaultTimeout = 10 * time.Second

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which the server must offer (default port 587)
	TLSImplicit = "implicit" // TLS from the first byte, "SMTPS" (default port 465)
	TLSNone     = "none"     // no encryption (default port 25)
)

// Server is the SMTP server mails go through (APMonitor's email_server).
type Server struct {
	Host     string
	Port     int // default by TLS mode: 587, 465 or 25
	Username string
	Password string
	From     string // From address, e.g. "zappy <alerts@example.com>"
	// TLS is starttls (default), implicit or none. Under starttls and
	// implicit nothing, password included, is sent unencrypted: a server
	// that does not offer STARTTLS is an error. Only an explicit "none"
	// allows AUTH over a plain connection, because APMonitor users run
	// port-25 relays on their LAN; mechanisms that do not reveal the
	// password (SCRAM, CRAM-MD5) are then preferred to PLAIN and LOGIN.
	TLS string
	// VerifyTLS checks the server's certificate chain and name. The zero
	// value does NOT verify: callers set it from the configuration, whose
	// default is true.
	VerifyTLS bool
	CAFile    string         // PEM file of extra trusted CAs (added to RootCAs, or to the system's)
	RootCAs   *x509.CertPool // trusted CAs (nil: the system's); tests set it
	Timeout   time.Duration  // default DefaultTimeout
}

// Recipient is one address and the kinds of mail it wants. Outages also
// covers changes; reports and test mails go to every recipient.
type Recipient struct {
	Email      string
	Outages    bool
	Recoveries bool
	Reminders  bool
}

// Notifier sends events as mail to its recipients.
type Notifier struct {
	srv    Server
	domain string // domain of From, for Message-IDs
	rcpts  []Recipient
	tls    *tls.Config
}

// New checks the server and recipients, loads CAFile, and returns the
// notifier.
func New(srv Server, rcpts []Recipient) (*Notifier, error) {
	if srv.Host == "" {
		return nil, errors.New("email: smtp_host is required")
	}
	srv.TLS = strings.ToLower(srv.TLS)
	defaultPort := 587
	switch srv.TLS {
	case "", TLSStartTLS:
		srv.TLS = TLSStartTLS
	case TLSImplicit:
		defaultPort = 465
	case TLSNone:
		defaultPort = 25
	default:
		return nil, fmt.Errorf("email: tls must be starttls, implicit or none, not %q", srv.TLS)
	}
	if srv.Port == 0 {
		srv.Port = defaultPort
	}
	if srv.Port < 1 || srv.Port > 65535 {
		return nil, fmt.Errorf("email: smtp_port must be between 1 and 65535, not %d", srv.Port)
	}
	if srv.From == "" {
		return nil, errors.New("email: from_address is required")
	}
	from, err := mail.ParseAddress(srv.From)
	if err != nil {
		return nil, fmt.Errorf("email: from_address %q: %w", srv.From, err)
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	if srv.Timeout <= 0 {
		srv.Timeout = DefaultTimeout
	}
	for i, r := range rcpts {
		if _, err := mail.ParseAddress(r.Email); err != nil {
			return nil, fmt.Errorf("email: recipient %d %q: %w", i+1, r.Email, err)
		}
	}
	pool := srv.RootCAs
	if srv.CAFile != "" {
		pem, err := os.ReadFile(srv.CAFile)
		if err != nil {
			return nil, fmt.Errorf("email: ca_file: %w", err)
		}
		if pool == nil {
			if pool, err = x509.SystemCertPool(); err != nil {
				pool = x509.NewCertPool()
			}
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("email: ca_file %s: no PEM certificate in it", srv.CAFile)
		}
	}
	return &Notifier{
		srv: srv, domain: domain, rcpts: append([]Recipient(nil), rcpts...),
		tls: &tls.Config{ServerName: srv.Host, RootCAs: pool, InsecureSkipVerify: !srv.VerifyTLS, MinVersion: tls.VersionTLS12},
	}, nil
}

// Name is "email".
func (n *Notifier) Name() string { return "email" }

// wants reports whether r gets mail of kind k.
func (r Recipient) wants(k notify.Kind) bool {
	switch k {
	case notify.KindOutage, notify.KindChange:
		return r.Outages
	case notify.KindReminder:
		return r.Reminders
	case notify.KindRecovery:
		return r.Recoveries
	}
	return true
}

// Recipients lists the addresses that get mail for an event of kind k.
func (n *Notifier) Recipients(k notify.Kind) []string {
	var to []string
	for _, r := range n.rcpts {
		if r.wants(k) {
			to = append(to, r.Email)
		}
	}
	return to
}

// idPart makes s safe inside a Message-ID, keeping it stable.
func idPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-_+=", r)) {
			return r
		}
		return '_'
	}, s)
}

// messageIDs returns the mail's Message-ID and the id of the outage notice
// it replies to ("" for none), without angle brackets.
func (n *Notifier) messageIDs(e notify.Event) (id, parent string) {
	outage := ""
	if e.OutageID != "" {
		outage = "zappy-outage-" + idPart(e.OutageID) + "@" + n.domain
	}
	switch e.Kind {
	case notify.KindOutage:
		if outage != "" {
			return outage, ""
		}
	case notify.KindReminder, notify.KindRecovery:
		return "zappy-" + idPart(e.ID) + "@" + n.domain, outage
	}
	return "zappy-" + idPart(e.ID) + "@" + n.domain, ""
}

// Body is the mail's text: Text(e), then the event's details.
func Body(e notify.Event) string {
	loc := e.Location
	if loc == nil {
		loc = time.Local
	}
	var b strings.Builder
	b.WriteString(notify.Text(e))
	b.WriteString("\n\n")
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-8s %s\n", k+":", v)
		}
	}
	line("Monitor", e.Monitor)
	line("Type", e.Type)
	line("Address", e.Address)
	if !e.Since.IsZero() {
		line("Since", e.Since.In(loc).Format("2006-01-02 15:04:05 MST"))
	}
	line("Key", e.Key)
	line("Outage", e.OutageID)
	line("Event", e.ID)
	return b.String()
}

// message builds the mail of e to the addresses in to.
func (n *Notifier) message(e notify.Event, to []string) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(n.srv.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.To(to...); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	m.Subject(notify.Subject(e))
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	loc := e.Location
	if loc == nil {
		loc = time.Local
	}
	m.SetDateWithValue(at.In(loc))
	id, parent := n.messageIDs(e)
	m.SetMessageIDWithValue(id)
	if parent != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, "<"+parent+">")
		m.SetGenHeader(gomail.HeaderReferences, "<"+parent+">")
	}
	m.SetGenHeader("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	m.SetUserAgent("zappy/1")
	m.SetBodyString(gomail.TypeTextPlain, Body(e))
	return m, nil
}

func (n *Notifier) client() (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(n.srv.Port),
		gomail.WithTimeout(n.srv.Timeout),
		gomail.WithTLSConfig(n.tls),
	}
	switch n.srv.TLS {
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if n.srv.Username != "" {
		opts = append(opts, gomail.WithUsername(n.srv.Username), gomail.WithPassword(n.srv.Password))
		if n.srv.TLS == TLSNone {
			opts = append(opts, gomail.WithOpportunisticSMTPAuth(
				gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1, gomail.SMTPAuthCramMD5,
				gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc))
		} else {
			opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover))
		}
	}
	return gomail.NewClient(n.srv.Host, opts...)
}

// Send mails e to the recipients that want its kind (outage and change:
// Outages, reminder: Reminders, recovery: Recoveries, report and test:
// everyone), as
// one message with all of them in To. With no such recipient nothing is
// sent and Send returns nil.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	to := n.Recipients(e.Kind)
	if len(to) == 0 {
		return nil
	}
	m, err := n.message(e, to)
	if err != nil {
		return fmt.Errorf("email %s: %w", e.ID, err)
	}
	c, err := n.client()
	if err != nil {
		return fmt.Errorf("email %s: %w", e.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.srv.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return fmt.Errorf("email %s to %s via %s:%d: %w", e.ID, strings.Join(to, ", "), n.srv.Host, n.srv.Port, err)
	}
	return nil
}
