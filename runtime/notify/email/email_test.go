package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/zappy-mon/zappy/internal/testutil"
	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

// received is one mail as the SMTP server got it.
type received struct {
	From string
	To   []string
	Data []byte
	User string // authenticated user, "" without AUTH
	TLS  bool
}

// smtpServer is a real SMTP server (go-smtp) on loopback that records mail.
type smtpServer struct {
	Host string
	Port int

	user, pass string // accepted AUTH PLAIN credentials
	rejectRcpt string // RCPT TO refused with 550

	mu       sync.Mutex
	mails    []received
	sessions int
	auths    int // AUTH attempts
}

type serverOptions struct {
	tls          *tls.Config // offered with STARTTLS, or from the first byte if implicit
	implicit     bool
	insecureAuth bool // offer AUTH on a plain connection
	user, pass   string
	rejectRcpt   string
}

func startSMTP(t *testing.T, o serverOptions) *smtpServer {
	t.Helper()
	s := &smtpServer{user: o.user, pass: o.pass, rejectRcpt: o.rejectRcpt}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		s.mu.Lock()
		s.sessions++
		s.mu.Unlock()
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = o.insecureAuth
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.implicit {
		ln = tls.NewListener(ln, o.tls)
	} else {
		srv.TLSConfig = o.tls
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	return s
}

func (s *smtpServer) take() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mails
	s.mails = nil
	return m
}

type session struct {
	srv  *smtpServer
	conn *smtp.Conn
	from string
	to   []string
	user string
}

func (s *session) AuthMechanisms() []string {
	if s.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	s.srv.mu.Lock()
	s.srv.auths++
	s.srv.mu.Unlock()
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.srv.user || password != s.srv.pass {
			return errors.New("bad credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.srv.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.mails = append(s.srv.mails, received{From: s.from, To: s.to, Data: b, User: s.user, TLS: isTLS})
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// recipients: ops gets everything, boss outages and recoveries, audit only
// recoveries.
var recipients = []Recipient{
	{Email: "ops@example.com", Outages: true, Recoveries: true, Reminders: true},
	{Email: "boss@example.com", Outages: true, Recoveries: true},
	{Email: "audit@example.com", Recoveries: true},
}

// parsed is a received mail's headers and decoded body.
type parsed struct {
	Header mail.Header
	Body   string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%v in:\n%s", err, data)
	}
	var body io.Reader = m.Body
	if m.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
		body = quotedprintable.NewReader(m.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return parsed{Header: m.Header, Body: strings.ReplaceAll(string(b), "\r\n", "\n")}
}

// TestSendThreaded sends an outage, a reminder and a recovery over STARTTLS
// with AUTH PLAIN and checks the envelope, the headers (threading included)
// and the body of each mail.
func TestSendThreaded(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	leaf := ca.Issue(t, testutil.LeafOptions{})
	s := startSMTP(t, serverOptions{tls: leaf.ServerConfig(), user: "alerts", pass: "s3cret"})
	n, err := New(Server{Host: s.Host, Port: s.Port, Username: "alerts", Password: "s3cret",
		From: "zappy <alerts@example.com>", VerifyTLS: true, RootCAs: ca.Pool}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	events := hooktest.Events(t)
	tests := []struct {
		kind                 notify.Kind
		rcpt                 []string
		to                   string
		subject, date        string
		messageID, inReplyTo string
		body                 string
	}{
		{notify.KindOutage, []string{"ops@example.com", "boss@example.com"}, "<ops@example.com>, <boss@example.com>",
			"NEW OUTAGE: web in HomeLab", "Tue, 14 Jul 2026 14:15:00 -0400",
			"<zappy-outage-out-7@example.com>", "",
			"web in HomeLab new outage: connect 10.0.0.5:443: connection refused (https://intranet.example/login) at 2:15 PM EDT, down for 0 secs\n" +
				"\n" +
				"Monitor: web\n" +
				"Type:    http\n" +
				"Address: https://intranet.example/login\n" +
				"Since:   2026-07-14 14:15:00 EDT\n" +
				"Outage:  out-7\n" +
				"Event:   evt-1\n"},
		{notify.KindReminder, []string{"ops@example.com"}, "<ops@example.com>",
			"REMINDER: web in HomeLab is down", "Tue, 14 Jul 2026 14:25:05 -0400",
			"<zappy-evt-2@example.com>", "<zappy-outage-out-7@example.com>",
			`web in HomeLab is down: 503 Service Unavailable, "maintenance" (https://intranet.example/login) at 2:25 PM EDT, down for 10 mins 5 secs` + "\n" +
				"\n" +
				"Monitor: web\n" +
				"Type:    http\n" +
				"Address: https://intranet.example/login\n" +
				"Since:   2026-07-14 14:15:00 EDT\n" +
				"Outage:  out-7\n" +
				"Event:   evt-2\n"},
		{notify.KindRecovery, []string{"ops@example.com", "boss@example.com", "audit@example.com"}, "<ops@example.com>, <boss@example.com>, <audit@example.com>",
			"RECOVERY: web in HomeLab is UP", "Tue, 14 Jul 2026 15:17:03 -0400",
			"<zappy-evt-3@example.com>", "<zappy-outage-out-7@example.com>",
			"web in HomeLab is UP (https://intranet.example/login) at 3:17 PM EDT, outage lasted 1 hours 2 mins 3 secs\n" +
				"\n" +
				"Monitor: web\n" +
				"Type:    http\n" +
				"Address: https://intranet.example/login\n" +
				"Since:   2026-07-14 14:15:00 EDT\n" +
				"Outage:  out-7\n" +
				"Event:   evt-3\n"},
	}
	for _, tt := range tests {
		if err := n.Send(context.Background(), events[tt.kind]); err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		mails := s.take()
		if len(mails) != 1 {
			t.Fatalf("%s: %d mails, want 1", tt.kind, len(mails))
		}
		m := mails[0]
		if m.From != "alerts@example.com" || strings.Join(m.To, " ") != strings.Join(tt.rcpt, " ") || m.User != "alerts" || !m.TLS {
			t.Errorf("%s: envelope MAIL FROM %q RCPT TO %q user %q TLS %v, want alerts@example.com %q alerts true",
				tt.kind, m.From, m.To, m.User, m.TLS, tt.rcpt)
		}
		p := parse(t, m.Data)
		subject, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"From": `"zappy" <alerts@example.com>`, "To": tt.to, "Date": tt.date,
			"Message-ID": tt.messageID, "In-Reply-To": tt.inReplyTo, "References": tt.inReplyTo,
			"Auto-Submitted": "auto-generated", "User-Agent": "zappy/1",
		}
		for k, v := range want {
			if got := p.Header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", tt.kind, k, got, v)
			}
		}
		if subject != tt.subject {
			t.Errorf("%s: Subject = %q, want %q", tt.kind, subject, tt.subject)
		}
		if ct := p.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
			t.Errorf("%s: Content-Type = %q", tt.kind, ct)
		}
		if p.Body != tt.body {
			t.Errorf("%s: body\n got %q\nwant %q", tt.kind, p.Body, tt.body)
		}
	}
}

// TestSendReportAndTest checks that reports and test mails go to everyone
// and stand alone (no threading headers).
func TestSendReportAndTest(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	s := startSMTP(t, serverOptions{tls: ca.Issue(t, testutil.LeafOptions{}).ServerConfig()})
	n, err := New(Server{Host: s.Host, Port: s.Port, From: "alerts@example.com", VerifyTLS: true, RootCAs: ca.Pool}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	events := hooktest.Events(t)
	for _, tt := range []struct {
		kind      notify.Kind
		subject   string
		messageID string
		body      string
	}{
		{notify.KindReport, "REPORT: 2 failing in HomeLab", "<zappy-evt-4@example.com>",
			"HomeLab: 2 monitor(s) still failing at 4:15 PM EDT\n" +
				"  web (https://intranet.example/login): 503 Service Unavailable, down for 2 hours 0 mins 0 secs\n" +
				"  db (tcp://10.0.0.9:5432): connection refused, down for 30 mins 0 secs\n" +
				"\n" +
				"Event:   evt-4\n"},
		{notify.KindTest, "TEST: zappy notification for HomeLab", "<zappy-evt-5@example.com>",
			"test notification from zappy for HomeLab at 2:15 PM EDT\n\nEvent:   evt-5\n"},
	} {
		if err := n.Send(context.Background(), events[tt.kind]); err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		mails := s.take()
		if len(mails) != 1 || strings.Join(mails[0].To, " ") != "ops@example.com boss@example.com audit@example.com" || mails[0].User != "" {
			t.Fatalf("%s: %+v", tt.kind, mails)
		}
		p := parse(t, mails[0].Data)
		if p.Header.Get("Subject") != tt.subject || p.Header.Get("Message-ID") != tt.messageID ||
			p.Header.Get("In-Reply-To") != "" || p.Header.Get("References") != "" || p.Header.Get("From") != "<alerts@example.com>" {
			t.Errorf("%s: headers %v", tt.kind, p.Header)
		}
		if p.Body != tt.body {
			t.Errorf("%s: body\n got %q\nwant %q", tt.kind, p.Body, tt.body)
		}
	}
}

func TestImplicitTLS(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	s := startSMTP(t, serverOptions{tls: ca.Issue(t, testutil.LeafOptions{}).ServerConfig(), implicit: true, user: "u", pass: "p"})
	n, err := New(Server{Host: s.Host, Port: s.Port, Username: "u", Password: "p", From: "alerts@example.com",
		TLS: "implicit", VerifyTLS: true, RootCAs: ca.Pool}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage]); err != nil {
		t.Fatal(err)
	}
	mails := s.take()
	if len(mails) != 1 || !mails[0].TLS || mails[0].User != "u" || strings.Join(mails[0].To, " ") != "ops@example.com boss@example.com" {
		t.Fatalf("mails = %+v", mails)
	}
}

// TestCAFile trusts the server's CA through a PEM file instead of a pool.
func TestCAFile(t *testing.T) {
	ca := testutil.NewCA(t, "zappy file CA")
	s := startSMTP(t, serverOptions{tls: ca.Issue(t, testutil.LeafOptions{}).ServerConfig()})
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := New(Server{Host: s.Host, Port: s.Port, From: "alerts@example.com", VerifyTLS: true, CAFile: file}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindRecovery]); err != nil {
		t.Fatal(err)
	}
	if mails := s.take(); len(mails) != 1 || !mails[0].TLS {
		t.Fatalf("mails = %+v", mails)
	}
}

// TestUntrustedCertificate: a certificate from an unknown CA fails the
// delivery unless VerifyTLS is off.
func TestUntrustedCertificate(t *testing.T) {
	s := startSMTP(t, serverOptions{tls: testutil.SelfSigned(t, testutil.LeafOptions{}).ServerConfig(), user: "u", pass: "p"})
	other := testutil.NewCA(t, "some other CA")
	for _, tt := range []struct {
		name   string
		verify bool
		pool   *x509.CertPool
		ok     bool
	}{
		{"verified against another CA", true, other.Pool, false},
		{"not verified", false, other.Pool, true},
	} {
		n, err := New(Server{Host: s.Host, Port: s.Port, Username: "u", Password: "p", From: "alerts@example.com",
			VerifyTLS: tt.verify, RootCAs: tt.pool}, recipients)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
		mails := s.take()
		if tt.ok {
			if err != nil || len(mails) != 1 || !mails[0].TLS {
				t.Errorf("%s: err %v, %d mails", tt.name, err, len(mails))
			}
			continue
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) || len(mails) != 0 {
			t.Errorf("%s: err = %v (want x509.UnknownAuthorityError), %d mails", tt.name, err, len(mails))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auths != 1 {
		t.Errorf("server saw %d AUTH, want 1 (only after a TLS handshake the client accepted)", s.auths)
	}
}

// TestNoSTARTTLS: in starttls mode a server that does not offer STARTTLS is
// an error, and the password never crosses the plain connection.
func TestNoSTARTTLS(t *testing.T) {
	s := startSMTP(t, serverOptions{insecureAuth: true, user: "u", pass: "p"})
	n, err := New(Server{Host: s.Host, Port: s.Port, Username: "u", Password: "p", From: "alerts@example.com", VerifyTLS: true}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	if err == nil || !strings.Contains(err.Error(), "does not support STARTTLS") {
		t.Errorf("err = %v, want a STARTTLS error", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.auths != 0 || len(s.mails) != 0 {
		t.Errorf("server saw %d AUTH and %d mails, want none", s.auths, len(s.mails))
	}
}

// TestPlain covers tls: none, APMonitor's unauthenticated port-25 relay and
// an explicit opt-in to AUTH over a plain connection.
func TestPlain(t *testing.T) {
	t.Run("relay without auth", func(t *testing.T) {
		s := startSMTP(t, serverOptions{})
		n, err := New(Server{Host: s.Host, Port: s.Port, From: "alerts@example.com", TLS: "none"}, recipients)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindReminder]); err != nil {
			t.Fatal(err)
		}
		mails := s.take()
		if len(mails) != 1 || mails[0].TLS || mails[0].User != "" || strings.Join(mails[0].To, " ") != "ops@example.com" {
			t.Fatalf("mails = %+v", mails)
		}
		if got := parse(t, mails[0].Data).Header.Get("In-Reply-To"); got != "<zappy-outage-out-7@example.com>" {
			t.Errorf("In-Reply-To = %q", got)
		}
	})
	t.Run("auth over plain text when asked", func(t *testing.T) {
		s := startSMTP(t, serverOptions{insecureAuth: true, user: "relay", pass: "pw"})
		n, err := New(Server{Host: s.Host, Port: s.Port, Username: "relay", Password: "pw", From: "alerts@example.com", TLS: "NONE"}, recipients)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage]); err != nil {
			t.Fatal(err)
		}
		if mails := s.take(); len(mails) != 1 || mails[0].TLS || mails[0].User != "relay" {
			t.Fatalf("mails = %+v", mails)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := startSMTP(t, serverOptions{insecureAuth: true, user: "relay", pass: "pw"})
		n, err := New(Server{Host: s.Host, Port: s.Port, Username: "relay", Password: "nope", From: "alerts@example.com", TLS: "none"}, recipients)
		if err != nil {
			t.Fatal(err)
		}
		err = n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
		if err == nil || !strings.Contains(err.Error(), "SMTP AUTH failed") || strings.Contains(err.Error(), "nope") {
			t.Errorf("err = %v, want an AUTH failure without the password", err)
		}
	})
}

func TestRefusedRecipient(t *testing.T) {
	s := startSMTP(t, serverOptions{rejectRcpt: "boss@example.com"})
	n, err := New(Server{Host: s.Host, Port: s.Port, From: "alerts@example.com", TLS: "none"}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	err = n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := "email evt-1 to ops@example.com, boss@example.com via 127.0.0.1:" + strconv.Itoa(s.Port) +
		`: send failed: sending SMTP RCPT TO command: 550 "5.1.1 no such mailbox", affected recipient(s): <boss@example.com>,` +
		" affected message ID: <zappy-outage-out-7@example.com>"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	if mails := s.take(); len(mails) != 0 {
		t.Errorf("%d mails delivered, want none", len(mails))
	}
}

// TestNoRecipient: nobody wants reminders, so nothing is sent and there is
// no error.
func TestNoRecipient(t *testing.T) {
	s := startSMTP(t, serverOptions{})
	n, err := New(Server{Host: s.Host, Port: s.Port, From: "alerts@example.com", TLS: "none"},
		[]Recipient{{Email: "boss@example.com", Outages: true, Recoveries: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindReminder]); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions != 0 {
		t.Errorf("%d SMTP sessions, want none", s.sessions)
	}
	if n, _ := New(Server{Host: "h", From: "a@b.c"}, nil); n == nil || n.Send(context.Background(), hooktest.Events(t)[notify.KindTest]) != nil {
		t.Error("no recipients at all: want no error")
	}
}

func TestNewValidation(t *testing.T) {
	ok := Server{Host: "smtp.example.com", From: "alerts@example.com"}
	tests := []struct {
		name  string
		edit  func(*Server)
		rcpts []Recipient
		want  string
		port  int
	}{
		{"defaults", func(*Server) {}, nil, "", 587},
		{"implicit port", func(s *Server) { s.TLS = "implicit" }, nil, "", 465},
		{"none port", func(s *Server) { s.TLS = "none" }, nil, "", 25},
		{"explicit port", func(s *Server) { s.Port = 2525 }, nil, "", 2525},
		{"no host", func(s *Server) { s.Host = "" }, nil, "email: smtp_host is required", 0},
		{"bad tls", func(s *Server) { s.TLS = "ssl" }, nil, `email: tls must be starttls, implicit or none, not "ssl"`, 0},
		{"bad port", func(s *Server) { s.Port = 70000 }, nil, "email: smtp_port must be between 1 and 65535, not 70000", 0},
		{"no from", func(s *Server) { s.From = "" }, nil, "email: from_address is required", 0},
		{"bad from", func(s *Server) { s.From = "alerts" }, nil, `email: from_address "alerts": mail: missing '@' or angle-addr`, 0},
		{"bad recipient", func(*Server) {}, []Recipient{{Email: "ops@example.com"}, {Email: "nobody"}}, `email: recipient 2 "nobody": mail: missing '@' or angle-addr`, 0},
		{"missing ca file", func(s *Server) { s.CAFile = "/nonexistent/ca.pem" }, nil, "email: ca_file: open /nonexistent/ca.pem: no such file or directory", 0},
	}
	for _, tt := range tests {
		s := ok
		tt.edit(&s)
		n, err := New(s, tt.rcpts)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: New() = %q, want %q", tt.name, got, tt.want)
		}
		if err == nil && n.srv.Port != tt.port {
			t.Errorf("%s: port %d, want %d", tt.name, n.srv.Port, tt.port)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := ok
	s.CAFile = empty
	if _, err := New(s, nil); err == nil || err.Error() != "email: ca_file "+empty+": no PEM certificate in it" {
		t.Errorf("empty CA file: %v", err)
	}
}

func TestMessageIDs(t *testing.T) {
	n, err := New(Server{Host: "h", From: "Ops <ops@mail.example.org>"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		e          notify.Event
		id, parent string
	}{
		{notify.Event{Kind: notify.KindOutage, ID: "e1", OutageID: "o1"}, "zappy-outage-o1@mail.example.org", ""},
		{notify.Event{Kind: notify.KindReminder, ID: "e2", OutageID: "o1"}, "zappy-e2@mail.example.org", "zappy-outage-o1@mail.example.org"},
		{notify.Event{Kind: notify.KindRecovery, ID: "e3", OutageID: "o1"}, "zappy-e3@mail.example.org", "zappy-outage-o1@mail.example.org"},
		{notify.Event{Kind: notify.KindOutage, ID: "e4"}, "zappy-e4@mail.example.org", ""},
		{notify.Event{Kind: notify.KindReport, ID: "e5", OutageID: "o1"}, "zappy-e5@mail.example.org", ""},
		{notify.Event{Kind: notify.KindChange, ID: "e7", OutageID: "o1"}, "zappy-e7@mail.example.org", ""},
		{notify.Event{Kind: notify.KindOutage, ID: "e6", OutageID: "web/<1> x@y"}, "zappy-outage-web__1__x_y@mail.example.org", ""},
	}
	for _, tt := range tests {
		id, parent := n.messageIDs(tt.e)
		if id != tt.id || parent != tt.parent {
			t.Errorf("%+v: %q %q, want %q %q", tt.e, id, parent, tt.id, tt.parent)
		}
	}
}

// TestSendChange mails a change a module reported to the recipients of
// outage notices, standing alone (its own Message-ID, no threading).
func TestSendChange(t *testing.T) {
	s := startSMTP(t, serverOptions{})
	n, err := New(Server{Host: s.Host, Port: s.Port, From: "zappy <alerts@example.com>", TLS: "none"}, recipients)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Recipients(notify.KindChange); strings.Join(got, " ") != "ops@example.com boss@example.com" {
		t.Fatalf("recipients of a change: %q", got)
	}
	if err := n.Send(context.Background(), hooktest.Events(t)[notify.KindChange]); err != nil {
		t.Fatal(err)
	}
	mails := s.take()
	if len(mails) != 1 || strings.Join(mails[0].To, " ") != "ops@example.com boss@example.com" {
		t.Fatalf("mails %+v", mails)
	}
	p := parse(t, mails[0].Data)
	want := map[string]string{
		"Subject": "PORT CHANGE: office-switch in HomeLab", "Message-ID": "<zappy-evt-6@example.com>",
		"In-Reply-To": "", "References": "", "Date": "Tue, 14 Jul 2026 14:22:00 -0400", "To": "<ops@example.com>, <boss@example.com>",
	}
	for k, v := range want {
		if got := p.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	body := "PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT\n" +
		"\n" +
		"Monitor: office-switch\n" +
		"Type:    ports\n" +
		"Address: snmp://10.0.0.2\n" +
		"Key:     if:2\n" +
		"Event:   evt-6\n"
	if p.Body != body {
		t.Errorf("body\n got %q\nwant %q", p.Body, body)
	}
}
