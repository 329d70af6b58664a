package hostfuncs

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/internal/testutil"
)

// serveTLS starts a TLS listener on loopback that completes a handshake on
// every connection and then closes it. It returns the address.
func serveTLS(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	return testutil.Accept(t, func(raw net.Conn) {
		go func() {
			c := tls.Server(raw, cfg)
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Handshake()
		}()
	})
}

func closedPort(t testing.TB, network string) string { return testutil.ClosedPort(t, network) }

// wantCode fails unless err is an *Error with the given code.
func wantCode(t testing.TB, err error, code Code) *Error {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return nil
	}
	var ze *Error
	if !errors.As(err, &ze) {
		t.Fatalf("error = %v (%T), want *Error with code %s", err, err, code)
	}
	if ze.Code != code {
		t.Fatalf("error code = %s (%q), want %s", ze.Code, ze.Message, code)
	}
	return ze
}

func daysLeft(end time.Time) float64 {
	return time.Until(end).Hours() / 24
}

func TestTLSProbeTrustedChain(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"localhost", "127.0.0.1"}})
	addr := serveTLS(t, leaf.ServerConfig())

	info, err := TLSProbe(context.Background(), TLSRequest{Address: addr, TimeoutMS: 5000, TLS: TLSOptions{RootCAsPEM: string(ca.PEM)}})
	wantCode(t, err, "")
	if !info.Verified || info.Pinned {
		t.Errorf("verified=%v pinned=%v, want true false", info.Verified, info.Pinned)
	}
	if info.Version != "TLS 1.3" {
		t.Errorf("version = %q, want TLS 1.3", info.Version)
	}
	if info.CipherSuite == "" || strings.HasPrefix(info.CipherSuite, "0x") {
		t.Errorf("cipher suite = %q", info.CipherSuite)
	}
	if info.ServerName != "127.0.0.1" {
		t.Errorf("server name = %q, want 127.0.0.1", info.ServerName)
	}
	if info.Fingerprint != leaf.Fingerprint {
		t.Errorf("fingerprint = %s, want %s", info.Fingerprint, leaf.Fingerprint)
	}
	if len(info.Chain) != 2 {
		t.Fatalf("chain length = %d, want 2", len(info.Chain))
	}
	l, c := info.Chain[0], info.Chain[1]
	if l.Subject != "CN=localhost,O=zappy tests" || l.Issuer != "CN=zappy test CA,O=zappy tests" {
		t.Errorf("leaf subject %q issuer %q", l.Subject, l.Issuer)
	}
	if strings.Join(l.SANs, ",") != "localhost,127.0.0.1" {
		t.Errorf("leaf SANs = %q", l.SANs)
	}
	if l.SHA256 != leaf.Fingerprint || l.IsCA {
		t.Errorf("leaf sha256 %s is_ca %v", l.SHA256, l.IsCA)
	}
	if l.Serial != leaf.Cert.SerialNumber.Text(16) {
		t.Errorf("leaf serial = %s, want %s", l.Serial, leaf.Cert.SerialNumber.Text(16))
	}
	if !l.NotAfter.Equal(leaf.Cert.NotAfter) || !l.NotBefore.Equal(leaf.Cert.NotBefore) {
		t.Errorf("leaf validity %s..%s, want %s..%s", l.NotBefore, l.NotAfter, leaf.Cert.NotBefore, leaf.Cert.NotAfter)
	}
	if want := daysLeft(leaf.Cert.NotAfter); math.Abs(l.DaysLeft-want) > 0.011 || info.DaysLeft != l.DaysLeft {
		t.Errorf("days left = %v (info %v), want %.3f", l.DaysLeft, info.DaysLeft, want)
	}
	if l.SignatureAlgorithm != "ECDSA-SHA256" || l.PublicKeyAlgorithm != "ECDSA" {
		t.Errorf("leaf algorithms %s %s", l.SignatureAlgorithm, l.PublicKeyAlgorithm)
	}
	if c.Subject != "CN=zappy test CA,O=zappy tests" || c.Issuer != c.Subject || !c.IsCA {
		t.Errorf("CA subject %q issuer %q is_ca %v", c.Subject, c.Issuer, c.IsCA)
	}
	if c.SHA256 != Fingerprint(ca.Cert.Raw) {
		t.Errorf("CA sha256 = %s, want %s", c.SHA256, Fingerprint(ca.Cert.Raw))
	}
	if info.HandshakeMS <= 0 {
		t.Errorf("handshake_ms = %v", info.HandshakeMS)
	}
}

func TestTLSProbeVerification(t *testing.T) {
	ca := testutil.NewCA(t, "zappy test CA")
	otherCA := testutil.NewCA(t, "other CA")
	youngCA := testutil.NewCAFrom(t, "young CA", time.Now().Add(-time.Hour))
	good := ca.Issue(t, testutil.LeafOptions{})
	// Expired before its CA was even issued: no moment when the chain was valid.
	orphan := youngCA.Issue(t, testutil.LeafOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	expired := ca.Issue(t, testutil.LeafOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	future := ca.Issue(t, testutil.LeafOptions{NotBefore: time.Now().Add(24 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)})
	self := testutil.SelfSigned(t, testutil.LeafOptions{})
	selfExpired := testutil.SelfSigned(t, testutil.LeafOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})

	goodAddr := serveTLS(t, good.ServerConfig())
	expiredAddr := serveTLS(t, expired.ServerConfig())
	futureAddr := serveTLS(t, future.ServerConfig())
	selfAddr := serveTLS(t, self.ServerConfig())
	selfExpiredAddr := serveTLS(t, selfExpired.ServerConfig())
	orphanAddr := serveTLS(t, orphan.ServerConfig())
	roots := string(ca.PEM)

	colons := func(fp string) string {
		var parts []string
		for i := 0; i < len(fp); i += 2 {
			parts = append(parts, fp[i:i+2])
		}
		return strings.Join(parts, ":")
	}
	wrongPin := strings.Repeat("ab", 32)

	tests := []struct {
		name         string
		addr         string
		opts         TLSOptions
		code         Code
		msg          []string // substrings of the error message
		verified     bool
		pinned       bool
		fingerprint  string // expected leaf fingerprint, also on failure
		daysLeftNear float64
	}{
		{name: "trusted", addr: goodAddr, opts: TLSOptions{RootCAsPEM: roots}, verified: true, fingerprint: good.Fingerprint},
		{name: "trusted by localhost name", addr: goodAddr, opts: TLSOptions{RootCAsPEM: roots, ServerName: "localhost"}, verified: true, fingerprint: good.Fingerprint},
		{name: "pin lower hex", addr: selfAddr, opts: TLSOptions{Fingerprint: self.Fingerprint}, pinned: true, fingerprint: self.Fingerprint},
		{name: "pin upper hex with colons", addr: selfAddr, opts: TLSOptions{Fingerprint: strings.ToUpper(colons(self.Fingerprint))}, pinned: true, fingerprint: self.Fingerprint},
		{name: "pin lower hex with colons", addr: selfAddr, opts: TLSOptions{Fingerprint: colons(self.Fingerprint)}, pinned: true, fingerprint: self.Fingerprint},
		{name: "pin upper hex no colons", addr: selfAddr, opts: TLSOptions{Fingerprint: strings.ToUpper(self.Fingerprint)}, pinned: true, fingerprint: self.Fingerprint},
		{name: "pin wins over a wrong name", addr: selfAddr, opts: TLSOptions{Fingerprint: self.Fingerprint, ServerName: "elsewhere.example"}, pinned: true, fingerprint: self.Fingerprint},
		{name: "pin mismatch", addr: selfAddr, opts: TLSOptions{Fingerprint: colons(wrongPin)}, code: CodePinMismatch,
			msg: []string{"expected " + wrongPin, "got " + self.Fingerprint}, fingerprint: self.Fingerprint},
		{name: "pin mismatch on a trusted chain", addr: goodAddr, opts: TLSOptions{Fingerprint: wrongPin, RootCAsPEM: roots}, code: CodePinMismatch,
			msg: []string{wrongPin, good.Fingerprint}, fingerprint: good.Fingerprint},
		{name: "expired", addr: expiredAddr, opts: TLSOptions{RootCAsPEM: roots}, code: CodeCertExpired,
			msg: []string{`certificate "localhost" expired ` + expired.Cert.NotAfter.UTC().Format(time.RFC3339)}, fingerprint: expired.Fingerprint},
		{name: "expired ignored", addr: expiredAddr, opts: TLSOptions{RootCAsPEM: roots, IgnoreExpiry: true}, verified: true, fingerprint: expired.Fingerprint, daysLeftNear: -1},
		{name: "expired ignored still checks the name", addr: expiredAddr, opts: TLSOptions{RootCAsPEM: roots, IgnoreExpiry: true, ServerName: "elsewhere.example"}, code: CodeCertHostname, fingerprint: expired.Fingerprint},
		{name: "expired ignored still checks trust", addr: expiredAddr, opts: TLSOptions{RootCAsPEM: string(otherCA.PEM), IgnoreExpiry: true}, code: CodeCertUntrusted, fingerprint: expired.Fingerprint},
		{name: "expired ignored without a common valid moment", addr: orphanAddr, opts: TLSOptions{RootCAsPEM: string(youngCA.PEM), IgnoreExpiry: true}, code: CodeCertExpired,
			msg: []string{"no moment at which every certificate of the chain is valid"}, fingerprint: orphan.Fingerprint},
		{name: "not yet valid", addr: futureAddr, opts: TLSOptions{RootCAsPEM: roots}, code: CodeCertExpired, msg: []string{"is not valid before"}, fingerprint: future.Fingerprint},
		{name: "pinned expired", addr: selfExpiredAddr, opts: TLSOptions{Fingerprint: selfExpired.Fingerprint}, code: CodeCertExpired, msg: []string{"expired"}, fingerprint: selfExpired.Fingerprint},
		{name: "pinned expired ignored", addr: selfExpiredAddr, opts: TLSOptions{Fingerprint: selfExpired.Fingerprint, IgnoreExpiry: true}, pinned: true, fingerprint: selfExpired.Fingerprint, daysLeftNear: -1},
		{name: "wrong hostname", addr: goodAddr, opts: TLSOptions{RootCAsPEM: roots, ServerName: "elsewhere.example"}, code: CodeCertHostname,
			msg: []string{`certificate is not valid for "elsewhere.example" (it covers localhost, 127.0.0.1)`}, fingerprint: good.Fingerprint},
		{name: "untrusted self-signed", addr: selfAddr, opts: TLSOptions{}, code: CodeCertUntrusted, msg: []string{"certificate not trusted"}, fingerprint: self.Fingerprint},
		{name: "untrusted other CA", addr: goodAddr, opts: TLSOptions{RootCAsPEM: string(otherCA.PEM)}, code: CodeCertUntrusted, fingerprint: good.Fingerprint},
		{name: "insecure self-signed", addr: selfAddr, opts: TLSOptions{Insecure: true}, fingerprint: self.Fingerprint},
		{name: "insecure expired wrong name", addr: expiredAddr, opts: TLSOptions{Insecure: true, ServerName: "elsewhere.example"}, fingerprint: expired.Fingerprint, daysLeftNear: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := TLSProbe(context.Background(), TLSRequest{Address: tt.addr, TimeoutMS: 5000, TLS: tt.opts})
			if ze := wantCode(t, err, tt.code); ze != nil {
				for _, m := range tt.msg {
					if !strings.Contains(ze.Message, m) {
						t.Errorf("message %q does not contain %q", ze.Message, m)
					}
				}
				if !strings.HasPrefix(ze.Message, "tls handshake with "+tt.addr+": ") {
					t.Errorf("message %q does not name the handshake", ze.Message)
				}
			}
			if info.Verified != tt.verified || info.Pinned != tt.pinned {
				t.Errorf("verified=%v pinned=%v, want %v %v", info.Verified, info.Pinned, tt.verified, tt.pinned)
			}
			if info.Fingerprint != tt.fingerprint {
				t.Errorf("fingerprint = %s, want %s", info.Fingerprint, tt.fingerprint)
			}
			if tt.daysLeftNear != 0 && math.Abs(info.DaysLeft-tt.daysLeftNear) > 0.011 {
				t.Errorf("days left = %v, want about %v", info.DaysLeft, tt.daysLeftNear)
			}
		})
	}
}

// TestHandshakeReportsChainOnFailure checks that a failed verification still
// tells the check what the server presented.
func TestHandshakeReportsChainOnFailure(t *testing.T) {
	ca := testutil.NewCA(t, "unknown CA")
	leaf := ca.Issue(t, testutil.LeafOptions{Names: []string{"device.example"}})
	addr := serveTLS(t, leaf.ServerConfig())

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	info, tc, err := Handshake(context.Background(), conn, "device.example", TLSOptions{})
	wantCode(t, err, CodeCertUntrusted)
	if tc != nil {
		t.Error("Handshake returned a connection on failure")
	}
	if info.Verified || info.Pinned {
		t.Errorf("verified=%v pinned=%v on failure", info.Verified, info.Pinned)
	}
	if len(info.Chain) != 2 || info.Chain[0].SHA256 != leaf.Fingerprint || info.Fingerprint != leaf.Fingerprint {
		t.Fatalf("chain = %+v, want leaf %s then CA", info.Chain, leaf.Fingerprint)
	}
	if info.Chain[0].Subject != "CN=device.example,O=zappy tests" || info.Chain[1].SHA256 != Fingerprint(ca.Cert.Raw) {
		t.Errorf("chain subjects %q / %s", info.Chain[0].Subject, info.Chain[1].SHA256)
	}
	if info.Version == "" || info.ServerName != "device.example" {
		t.Errorf("version %q server name %q", info.Version, info.ServerName)
	}
}

func TestTLSProbeALPN(t *testing.T) {
	leaf := testutil.SelfSigned(t, testutil.LeafOptions{})
	addr := serveTLS(t, leaf.ServerConfig("h2", "http/1.1"))
	plain := serveTLS(t, leaf.ServerConfig())
	pin := TLSOptions{Fingerprint: leaf.Fingerprint}

	tests := []struct {
		name string
		addr string
		alpn []string
		want string
		code Code
	}{
		{name: "h2 preferred", addr: addr, alpn: []string{"h2", "http/1.1"}, want: "h2"},
		{name: "http/1.1 only", addr: addr, alpn: []string{"http/1.1"}, want: "http/1.1"},
		{name: "none asked", addr: addr},
		{name: "server without ALPN", addr: plain, alpn: []string{"h2"}},
		{name: "no overlap", addr: addr, alpn: []string{"imap"}, code: CodeTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pin
			o.ALPN = tt.alpn
			info, err := TLSProbe(context.Background(), TLSRequest{Address: tt.addr, TimeoutMS: 5000, TLS: o})
			wantCode(t, err, tt.code)
			if info.ALPN != tt.want {
				t.Errorf("alpn = %q, want %q", info.ALPN, tt.want)
			}
		})
	}
}

func TestTLSProbeMinVersion(t *testing.T) {
	leaf := testutil.SelfSigned(t, testutil.LeafOptions{})
	cfg := leaf.ServerConfig()
	cfg.MaxVersion = tls.VersionTLS12
	tls12 := serveTLS(t, cfg)

	tests := []struct {
		min  string
		want string
		code Code
	}{
		{min: "", want: "TLS 1.2"},
		{min: "1.0", want: "TLS 1.2"},
		{min: "1.2", want: "TLS 1.2"},
		{min: "1.3", code: CodeTLS},
		{min: "2.0", code: CodeInvalid},
	}
	for _, tt := range tests {
		t.Run("min "+tt.min, func(t *testing.T) {
			info, err := TLSProbe(context.Background(), TLSRequest{Address: tls12, TimeoutMS: 5000, TLS: TLSOptions{Fingerprint: leaf.Fingerprint, MinVersion: tt.min}})
			wantCode(t, err, tt.code)
			if info.Version != tt.want {
				t.Errorf("version = %q, want %q", info.Version, tt.want)
			}
		})
	}
}

func TestTLSProbeFailures(t *testing.T) {
	leaf := testutil.SelfSigned(t, testutil.LeafOptions{})
	addr := serveTLS(t, leaf.ServerConfig())
	closed := closedPort(t, "tcp")

	// A server that accepts and never speaks: the handshake must time out.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	// A server that speaks something other than TLS.
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	go func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("220 plain smtp here, not TLS at all\r\n"))
			defer c.Close()
		}
	}()

	tests := []struct {
		name string
		req  TLSRequest
		code Code
		msg  string
	}{
		{name: "refused", req: TLSRequest{Address: closed}, code: CodeRefused, msg: "connect " + closed + ": connection refused"},
		{name: "bad address", req: TLSRequest{Address: "127.0.0.1"}, code: CodeInvalid},
		{name: "bad fingerprint", req: TLSRequest{Address: addr, TLS: TLSOptions{Fingerprint: "zz:11"}}, code: CodeInvalid, msg: `fingerprint "zz:11" is not hexadecimal`},
		{name: "bad roots", req: TLSRequest{Address: addr, TLS: TLSOptions{RootCAsPEM: "not pem"}}, code: CodeInvalid, msg: "root_cas_pem holds no PEM certificate"},
		{name: "handshake timeout", req: TLSRequest{Address: mute.Addr().String(), TimeoutMS: 100}, code: CodeTimeout, msg: "tls handshake with " + mute.Addr().String() + ": timed out"},
		{name: "not TLS", req: TLSRequest{Address: plain.Addr().String(), TimeoutMS: 5000}, code: CodeProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TLSProbe(context.Background(), tt.req)
			ze := wantCode(t, err, tt.code)
			if tt.msg != "" && ze.Message != tt.msg {
				t.Errorf("message = %q, want %q", ze.Message, tt.msg)
			}
		})
	}

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := TLSProbe(ctx, TLSRequest{Address: mute.Addr().String()})
		wantCode(t, err, CodeCanceled)
	})
}

func TestNormalizeFingerprint(t *testing.T) {
	tests := []struct {
		in, want string
		code     Code
	}{
		{in: "", want: ""},
		{in: "AB:cd:EF", want: "abcdef"},
		{in: " ab cd ef ", want: "abcdef"},
		{in: "ab-cd-ef", want: "abcdef"},
		{in: "abc", code: CodeInvalid},
		{in: "xyz0", code: CodeInvalid},
	}
	for _, tt := range tests {
		got, err := NormalizeFingerprint(tt.in)
		if tt.code != "" {
			wantCode(t, err, tt.code)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeFingerprint(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
