package hostfuncs

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"time"
)

// TLSOptions says how a TLS handshake is verified. The same options serve
// the tls probe, STARTTLS on a TCP handle, HTTPS and HTTP/3.
//
// Verification rule: the chain and the hostname are verified against the
// system roots (plus RootCAsPEM) unless Fingerprint is set (then the leaf must
// match the pin and nothing else is checked, which is what self-signed devices
// need) or Insecure is set (an explicit opt-out: nothing is checked).
// IgnoreExpiry keeps chain and hostname verification but accepts certificates
// outside their validity period; with a pin it also skips the leaf's dates.
// (The chain is verified at a moment when all its certificates were valid; a
// chain without such a moment still fails with cert_expired.)
type TLSOptions struct {
	ServerName   string   `json:"server_name,omitempty"`
	Fingerprint  string   `json:"fingerprint,omitempty"` // SHA-256 of the leaf DER; hex, colons optional, any case
	Insecure     bool     `json:"insecure,omitempty"`
	IgnoreExpiry bool     `json:"ignore_expiry,omitempty"`
	ALPN         []string `json:"alpn,omitempty"`
	RootCAsPEM   string   `json:"root_cas_pem,omitempty"` // extra trusted roots, PEM
	MinVersion   string   `json:"min_version,omitempty"`  // "1.0", "1.1", "1.2", "1.3"
}

// CertInfo describes one certificate of a chain.
type CertInfo struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	SANs               []string  `json:"sans,omitempty"`
	Serial             string    `json:"serial"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	DaysLeft           float64   `json:"days_left"` // may be negative for an expired certificate
	SHA256             string    `json:"sha256"`    // lower-case hex of the DER, no colons
	IsCA               bool      `json:"is_ca,omitempty"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	PublicKeyAlgorithm string    `json:"public_key_algorithm"`
}

// TLSInfo is what a handshake revealed.
type TLSInfo struct {
	Version     string     `json:"version"`
	CipherSuite string     `json:"cipher_suite"`
	ALPN        string     `json:"alpn,omitempty"`
	ServerName  string     `json:"server_name,omitempty"` // the name verified against (sent as SNI unless an IP address)
	Fingerprint string     `json:"fingerprint"`           // leaf SHA-256, lower-case hex, no colons
	Chain       []CertInfo `json:"chain"`
	DaysLeft    float64    `json:"days_left"` // of the leaf
	Verified    bool       `json:"verified"`  // chain and hostname verified
	Pinned      bool       `json:"pinned"`    // a fingerprint pin was given and matched
	HandshakeMS float64    `json:"handshake_ms"`
}

// NormalizeFingerprint strips colons, spaces and case from a hex fingerprint
// and checks that what remains is hex.
func NormalizeFingerprint(fp string) (string, error) {
	s := strings.ToLower(strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(fp)))
	if s == "" {
		return "", nil
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", Errorf(CodeInvalid, "fingerprint %q is not hexadecimal", fp)
	}
	return s, nil
}

// Fingerprint returns the lower-case hex SHA-256 of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

var tlsVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// ClientConfig builds a tls.Config that applies the verification rule of
// TLSOptions. serverName is used when o.ServerName is empty (normally the host
// part of the address dialled). Verification failures come back from the
// handshake as *Error with a cert_* or pin_mismatch code.
func (o TLSOptions) ClientConfig(serverName string) (*tls.Config, error) {
	if o.ServerName != "" {
		serverName = o.ServerName
	}
	pin, err := NormalizeFingerprint(o.Fingerprint)
	if err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if o.RootCAsPEM != "" {
		roots, err = x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM([]byte(o.RootCAsPEM)) {
			return nil, Errorf(CodeInvalid, "root_cas_pem holds no PEM certificate")
		}
	}
	cfg := &tls.Config{
		ServerName:         serverName,
		NextProtos:         o.ALPN,
		InsecureSkipVerify: true, // verification is done by VerifyConnection below
		MinVersion:         tls.VersionTLS10,
	}
	if o.MinVersion != "" {
		v, ok := tlsVersions[o.MinVersion]
		if !ok {
			return nil, Errorf(CodeInvalid, "min_version %q: want 1.0, 1.1, 1.2 or 1.3", o.MinVersion)
		}
		cfg.MinVersion = v
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return o.verify(cs, pin, roots, serverName)
	}
	return cfg, nil
}

func (o TLSOptions) verify(cs tls.ConnectionState, pin string, roots *x509.CertPool, serverName string) error {
	if len(cs.PeerCertificates) == 0 {
		return Errorf(CodeTLS, "server presented no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if pin != "" {
		got := Fingerprint(leaf.Raw)
		if got != pin {
			return Errorf(CodePinMismatch, "certificate fingerprint mismatch: expected %s, got %s", pin, got)
		}
		if !o.IgnoreExpiry {
			if err := checkDates(leaf, time.Now()); err != nil {
				return err
			}
		}
		return nil
	}
	if o.Insecure {
		return nil
	}
	opts := x509.VerifyOptions{
		Roots:         roots,
		DNSName:       serverName,
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if o.IgnoreExpiry {
		opts.CurrentTime = validMoment(cs.PeerCertificates)
	}
	_, err := leaf.Verify(opts)
	if err != nil && o.IgnoreExpiry && isExpiry(err) {
		// The chain may have no common valid moment (an intermediate
		// renewed after the leaf expired); try the ends of the leaf's own
		// window and now before giving up.
		for _, at := range []time.Time{leaf.NotAfter.Add(-time.Second), leaf.NotBefore.Add(time.Second), time.Now()} {
			opts.CurrentTime = at
			if _, again := leaf.Verify(opts); again == nil {
				return nil
			} else if !isExpiry(again) {
				return certError(again, leaf, serverName)
			}
		}
		return &Error{Code: CodeCertExpired, Message: "certificate chain: no moment at which every certificate of the chain is valid: " + err.Error(), Err: err}
	}
	if err != nil {
		return certError(err, leaf, serverName)
	}
	return nil
}

// isExpiry reports whether a verification error is about validity dates.
func isExpiry(err error) bool {
	var inv x509.CertificateInvalidError
	return errors.As(err, &inv) && inv.Reason == x509.Expired
}

// validMoment picks an instant inside the validity window of every certificate
// of the chain if there is one, else inside the leaf's.
func validMoment(chain []*x509.Certificate) time.Time {
	lo, hi := chain[0].NotBefore, chain[0].NotAfter
	for _, c := range chain[1:] {
		if c.NotBefore.After(lo) {
			lo = c.NotBefore
		}
		if c.NotAfter.Before(hi) {
			hi = c.NotAfter
		}
	}
	if !lo.Before(hi) {
		lo, hi = chain[0].NotBefore, chain[0].NotAfter
	}
	return lo.Add(hi.Sub(lo) / 2)
}

func checkDates(c *x509.Certificate, now time.Time) error {
	if now.After(c.NotAfter) {
		return &Error{Code: CodeCertExpired, Message: fmt.Sprintf("certificate %q expired %s (%s ago)", c.Subject.CommonName, c.NotAfter.UTC().Format(time.RFC3339), now.Sub(c.NotAfter).Round(time.Second))}
	}
	if now.Before(c.NotBefore) {
		return &Error{Code: CodeCertExpired, Message: fmt.Sprintf("certificate %q is not valid before %s", c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339))}
	}
	return nil
}

func certError(err error, leaf *x509.Certificate, serverName string) error {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		if derr := checkDates(leaf, time.Now()); derr != nil {
			return derr
		}
		return &Error{Code: CodeCertExpired, Message: "certificate chain: " + err.Error(), Err: err}
	}
	var host x509.HostnameError
	if errors.As(err, &host) {
		return &Error{Code: CodeCertHostname, Message: fmt.Sprintf("certificate is not valid for %q (it covers %s)", serverName, strings.Join(certNames(leaf), ", ")), Err: err}
	}
	return &Error{Code: CodeCertUntrusted, Message: "certificate not trusted: " + err.Error(), Err: err}
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, "CN="+c.Subject.CommonName)
	}
	return names
}

// DescribeConnection turns a completed handshake into TLSInfo. verified says
// whether chain and hostname verification ran (no pin, no opt-out).
func DescribeConnection(cs tls.ConnectionState, o TLSOptions, handshake time.Duration) TLSInfo {
	now := time.Now()
	info := TLSInfo{
		ALPN:        cs.NegotiatedProtocol,
		ServerName:  cs.ServerName,
		Verified:    o.Fingerprint == "" && !o.Insecure,
		Pinned:      o.Fingerprint != "",
		HandshakeMS: durationMS(handshake),
	}
	if cs.Version != 0 { // zero when the handshake failed before the server's certificate
		info.Version = tls.VersionName(cs.Version)
		info.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)
	}
	for _, c := range cs.PeerCertificates {
		info.Chain = append(info.Chain, describeCert(c, now))
	}
	if len(info.Chain) > 0 {
		info.Fingerprint = info.Chain[0].SHA256
		info.DaysLeft = info.Chain[0].DaysLeft
	}
	return info
}

func describeCert(c *x509.Certificate, now time.Time) CertInfo {
	return CertInfo{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		SANs:               certNames(c),
		Serial:             c.SerialNumber.Text(16),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		DaysLeft:           math.Round(c.NotAfter.Sub(now).Hours()/24*100) / 100,
		SHA256:             Fingerprint(c.Raw),
		IsCA:               c.IsCA,
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		PublicKeyAlgorithm: c.PublicKeyAlgorithm.String(),
	}
}

// durationMS converts a duration to fractional milliseconds, rounded to µs.
func durationMS(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// TLSRequest asks for the handshake data of any TLS endpoint.
type TLSRequest struct {
	Address   string     `json:"address"` // host:port
	TimeoutMS int        `json:"timeout_ms,omitempty"`
	TLS       TLSOptions `json:"tls"`
}

// TLSProbe connects to req.Address, performs a TLS handshake under the
// verification rule of req.TLS and reports the handshake data. On a
// verification failure the returned TLSInfo still describes the chain that was
// presented, alongside the *Error.
func TLSProbe(ctx context.Context, req TLSRequest) (TLSInfo, error) {
	ctx, cancel := withTimeout(ctx, req.TimeoutMS)
	defer cancel()
	host, _, err := net.SplitHostPort(req.Address)
	if err != nil {
		return TLSInfo{}, Errorf(CodeInvalid, "address %q: %v", req.Address, err)
	}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", req.Address)
	if err != nil {
		return TLSInfo{}, netFailure(ctx, err, "connect "+req.Address)
	}
	defer raw.Close()
	info, _, err := Handshake(ctx, raw, host, req.TLS)
	return info, err
}

// Handshake runs a client TLS handshake over conn. It returns the TLS
// connection (nil on failure) and what the handshake revealed; on a
// verification failure the info still lists the presented chain, with
// Verified and Pinned false. If ctx ends during the handshake, conn is closed.
func Handshake(ctx context.Context, conn net.Conn, host string, o TLSOptions) (TLSInfo, *tls.Conn, error) {
	cfg, err := o.ClientConfig(host)
	if err != nil {
		return TLSInfo{}, nil, err
	}
	var seen tls.ConnectionState
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		seen = cs
		return verify(cs)
	}
	start := time.Now()
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		info := DescribeConnection(seen, o, time.Since(start))
		info.Verified, info.Pinned = false, false
		if info.ServerName == "" {
			info.ServerName = cfg.ServerName
		}
		return info, nil, netFailure(ctx, err, "tls handshake with "+conn.RemoteAddr().String())
	}
	info := DescribeConnection(tc.ConnectionState(), o, time.Since(start))
	if info.ServerName == "" {
		// crypto/tls leaves it empty for an IP address (no SNI is sent);
		// report the name the certificate was checked against.
		info.ServerName = cfg.ServerName
	}
	return info, tc, nil
}

// withTimeout bounds ctx by timeoutMS when it is positive.
func withTimeout(ctx context.Context, timeoutMS int) (context.Context, context.CancelFunc) {
	if timeoutMS > 0 {
		return context.WithTimeout(ctx, time.Duration(timeoutMS)*time.Millisecond)
	}
	// Nothing to add: a child context would only cost an allocation and a
	// registration in ctx per operation.
	return ctx, func() {}
}
