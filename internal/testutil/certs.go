// Package testutil holds helpers shared by tests that start real servers on
// loopback: certificates, free ports and subprocess servers.
package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a throw-away certificate authority for tests.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	PEM  []byte
	Pool *x509.CertPool
}

var serial atomic.Int64

// NewCA makes a self-signed CA valid from a year ago for ten years, so that
// leaves it issues can have realistic past validity windows.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	return NewCAFrom(t, name, time.Now().Add(-365*24*time.Hour))
}

// NewCAFrom makes a self-signed CA valid from notBefore for ten years.
func NewCAFrom(t testing.TB, name string, notBefore time.Time) *CA {
	t.Helper()
	ca, err := MakeCA(name, notBefore)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// MakeCA is NewCAFrom for code that has no testing.TB (a TestMain): it
// returns its error.
func MakeCA(name string, notBefore time.Time) (*CA, error) {
	return makeCA(name, notBefore, notBefore.Add(10*365*24*time.Hour), nil)
}

// Intermediate makes a CA signed by ca, valid from notBefore to notAfter;
// the leaves it issues are served with it as their chain's second
// certificate.
func (ca *CA) Intermediate(t testing.TB, name string, notBefore, notAfter time.Time) *CA {
	t.Helper()
	inter, err := makeCA(name, notBefore, notAfter, ca)
	if err != nil {
		t.Fatal(err)
	}
	return inter
}

// makeCA makes a CA signed by parent, or self-signed when parent is nil.
func makeCA(name string, notBefore, notAfter time.Time, parent *CA) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"zappy tests"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: pool}, nil
}

// LeafOptions describe a leaf certificate.
type LeafOptions struct {
	Names     []string // DNS names and IP addresses; default "localhost", "127.0.0.1"
	NotBefore time.Time
	NotAfter  time.Time
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	TLS         tls.Certificate
	Cert        *x509.Certificate
	CertPEM     []byte
	KeyPEM      []byte
	Fingerprint string // lower-case hex SHA-256 of the DER, no colons
}

// Issue signs a leaf certificate. A nil ca makes the leaf self-signed.
func (ca *CA) Issue(t testing.TB, o LeafOptions) *Leaf {
	t.Helper()
	return issue(t, ca, o)
}

// SelfSigned makes a self-signed leaf certificate (no CA).
func SelfSigned(t testing.TB, o LeafOptions) *Leaf {
	t.Helper()
	return issue(t, nil, o)
}

func issue(t testing.TB, ca *CA, o LeafOptions) *Leaf {
	if len(o.Names) == 0 {
		o.Names = []string{"localhost", "127.0.0.1"}
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: o.Names[0], Organization: []string{"zappy tests"}},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range o.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	parent, signer := tmpl, key
	if ca != nil {
		parent, signer = ca.Cert, ca.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	chain := [][]byte{der}
	if ca != nil {
		chain = append(chain, ca.Cert.Raw)
	}
	return &Leaf{
		TLS:         tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: cert},
		Cert:        cert,
		CertPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		Fingerprint: hex.EncodeToString(sum[:]),
	}
}

// ServerConfig is a tls.Config serving this leaf.
func (l *Leaf) ServerConfig(alpn ...string) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{l.TLS}, NextProtos: alpn, MinVersion: tls.VersionTLS12}
}
