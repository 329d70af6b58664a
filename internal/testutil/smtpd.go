package testutil

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// SMTPD is a real SMTP server on loopback (github.com/emersion/go-smtp)
// that keeps every message it accepts.
type SMTPD struct {
	Host string
	Port int

	mu       sync.Mutex
	messages []Mail
	srv      *smtp.Server
	// Down, while true, makes the server refuse every message with a
	// temporary error (451), as a mail server that is down would.
	down bool
	// rejected recipients are refused with 550 (no such mailbox).
	rejected map[string]bool
}

// Mail is one accepted message.
type Mail struct {
	From    string
	To      []string
	Header  mail.Header
	Body    string
	Raw     []byte
	WithTLS bool
}

// StartSMTPD starts a server; tlsConfig, when set, is offered with
// STARTTLS. It stops at the end of the test.
func StartSMTPD(t testing.TB, tlsConfig *tls.Config) *SMTPD {
	t.Helper()
	d := &SMTPD{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{d: d, conn: c}, nil
	}))
	srv.Domain = "mx.zappy.test"
	srv.TLSConfig = tlsConfig
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	d.srv = srv
	d.Host, d.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	return d
}

// SetDown makes the server refuse (true) or accept (false) messages.
func (d *SMTPD) SetDown(down bool) {
	d.mu.Lock()
	d.down = down
	d.mu.Unlock()
}

// Reject makes the server refuse mail to addr (550, no such mailbox).
func (d *SMTPD) Reject(addr string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rejected == nil {
		d.rejected = map[string]bool{}
	}
	d.rejected[addr] = true
}

// Messages returns the messages accepted so far.
func (d *SMTPD) Messages() []Mail {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Mail(nil), d.messages...)
}

type smtpSession struct {
	d    *SMTPD
	conn *smtp.Conn
	from string
	to   []string
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.d.mu.Lock()
	down := s.d.down
	s.d.mu.Unlock()
	if down {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.from = from
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.mu.Lock()
	rejected := s.d.rejected[to]
	s.d.mu.Unlock()
	if rejected {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Mail{From: s.from, To: s.to, Raw: raw}
	if msg, err := mail.ReadMessage(bytes.NewReader(raw)); err == nil {
		m.Header = msg.Header
		b, _ := io.ReadAll(msg.Body)
		m.Body = string(b)
	}
	_, m.WithTLS = s.conn.TLSConnectionState()
	s.d.mu.Lock()
	s.d.messages = append(s.d.messages, m)
	s.d.mu.Unlock()
	return nil
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }
