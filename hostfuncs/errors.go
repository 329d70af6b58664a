package hostfuncs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Code classifies why a primitive failed. Check modules use it to tell a
// service that answered wrongly (APPLICATION_ERROR) from one that could not be
// reached (EXCEPTION_ERROR), and the host uses it to tell a broken target from a
// sandbox refusal. The values are part of the ABI (sdk/ABI.md).
type Code string

// Error codes, stable across ABI v1.
const (
	CodeTimeout       Code = "timeout"        // the deadline passed before the operation finished
	CodeRefused       Code = "refused"        // connection refused / port unreachable
	CodeUnreachable   Code = "unreachable"    // no route, network or host unreachable
	CodeDNS           Code = "dns"            // the name did not resolve
	CodeReset         Code = "reset"          // the peer reset or closed the connection unexpectedly
	CodeEOF           Code = "eof"            // the peer closed the stream before the expected data
	CodeTLS           Code = "tls"            // handshake failure not covered by a more specific code
	CodeCertExpired   Code = "cert_expired"   // certificate outside its validity period
	CodeCertHostname  Code = "cert_hostname"  // certificate does not cover the name asked for
	CodeCertUntrusted Code = "cert_untrusted" // chain does not lead to a trusted root
	CodePinMismatch   Code = "pin_mismatch"   // leaf certificate fingerprint differs from the pin
	CodeProtocol      Code = "protocol"       // the peer spoke something other than the expected protocol
	CodeDenied        Code = "denied"         // refused by the sandbox policy (allow-list, capability)
	CodeLimit         Code = "limit"          // a sandbox cap was reached (handles, sizes)
	CodeCanceled      Code = "canceled"       // the check ended or was canceled
	CodePermission    Code = "permission"     // the operating system refused (e.g. raw sockets)
	CodeInvalid       Code = "invalid"        // the request itself is malformed
	CodeIO            Code = "io"             // any other I/O failure
)

// Error is the error type every primitive returns. It carries a Code so that
// callers never have to parse messages.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with the given code.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Wrap classifies err and prefixes its message with what was being done, e.g.
// Wrap(err, "connect 127.0.0.1:25"). A nil err gives nil.
func Wrap(err error, doing string) *Error {
	if err == nil {
		return nil
	}
	var ze *Error
	if errors.As(err, &ze) {
		if doing == "" || strings.HasPrefix(ze.Message, doing) {
			return ze
		}
		return &Error{Code: ze.Code, Message: doing + ": " + ze.Message, Err: err}
	}
	msg := err.Error()
	if doing != "" {
		msg = doing + ": " + msg
	}
	return &Error{Code: Classify(err), Message: msg, Err: err}
}

// Classify maps a Go error from the net, tls and x509 packages to a Code.
func Classify(err error) Code {
	if err == nil {
		return ""
	}
	var ze *Error
	if errors.As(err, &ze) {
		return ze.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return CodeRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return CodeUnreachable
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return CodeReset
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return CodePermission
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return CodeEOF
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return CodeTimeout
		}
		return CodeDNS
	}
	var invalid x509.CertificateInvalidError
	if errors.As(err, &invalid) {
		if invalid.Reason == x509.Expired {
			return CodeCertExpired
		}
		return CodeCertUntrusted
	}
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return CodeCertHostname
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		return CodeCertUntrusted
	}
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return CodeCertUntrusted
	}
	var recErr tls.RecordHeaderError
	if errors.As(err, &recErr) {
		return CodeProtocol
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return CodeTLS
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return CodeTimeout
	}
	if strings.Contains(err.Error(), "tls:") {
		return CodeTLS
	}
	return CodeIO
}
