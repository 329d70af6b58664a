package main

import (
	"strings"

	zappy "github.com/zappy-mon/zappy/sdk/go"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

const httpSchema = `{"type":"object","properties":{
 "expect":{"type":"string","description":"substring the response body must contain"},
 "send":{"type":"string","description":"request body; makes the request a POST"},
 "content_type":{"type":"string","description":"Content-Type of send (default: a Content-Type in headers, else text/plain; charset=utf-8)"},
 "method":{"type":"string","description":"HTTP method (default GET, or POST with send)"},
 "headers":{"type":"object","additionalProperties":{"type":"string"}},
 "expect_status":{"description":"accepted status codes (default any 2xx)","oneOf":[{"type":"integer"},{"type":"array","items":{"type":"integer"}}]},
 "ssl_fingerprint":{"type":"string","description":"SHA-256 pin of the server certificate (hex, colons optional)"},
 "ignore_ssl_expiry":{"type":["boolean","string","integer"]},
 "verify_ssl":{"type":["boolean","string","integer"],"description":"false skips chain and hostname verification (default true)"},
 "server_name":{"type":"string","description":"TLS server name to present and verify (default: the URL host)"},
 "max_redirects":{"type":"integer","minimum":0,"description":"redirects followed (default 10)"},
 "max_body_bytes":{"type":"integer","minimum":1}}}`

// maxBodyField caps the body exposed to assertions; the whole body (up to
// max_body_bytes) is still searched for expect.
const maxBodyField = 64 << 10

func tlsOptions(c *zappy.Check) (zappy.TLSOptions, error) {
	o := zappy.TLSOptions{
		Fingerprint:  c.Config.Get("ssl_fingerprint").Str(),
		IgnoreExpiry: truthy(c, "ignore_ssl_expiry", false),
		Insecure:     !truthy(c, "verify_ssl", true),
		ServerName:   c.Config.Get("server_name").Str(),
	}
	return o, checkPin(o.Fingerprint)
}

// checkPin refuses a pin that can never match: the host compares it with
// the leaf's SHA-256, 64 hex digits once colons, spaces, dashes and case
// are put aside. (APMonitor's validator accepts any power of two of hex
// digits.) A pin that is not hex at all is left to the host to report.
func checkPin(pin string) error {
	n := 0
	for i := 0; i < len(pin); i++ {
		switch ch := pin[i]; {
		case ch == ':' || ch == ' ' || ch == '-':
		case '0' <= ch && ch <= '9', 'a' <= ch && ch <= 'f', 'A' <= ch && ch <= 'F':
			n++
		default:
			return nil
		}
	}
	if n == 0 || n == 64 {
		return nil
	}
	return invalid("ssl_fingerprint has " + itoa(n) + " hex digits; a SHA-256 fingerprint has 64")
}

func checkHTTP(c *zappy.Check) zappy.Result { return httpCheck(c, c.HTTP) }
func checkQUIC(c *zappy.Check) zappy.Result { return httpCheck(c, c.HTTP3) }

// httpCheck follows APMonitor's http/quic semantics: GET (POST when send is
// set), redirects followed and recorded, success on 2xx (or expect_status)
// and on finding expect in the body; TLS verified unless pinned or opted out.
func httpCheck(c *zappy.Check, do func(zappy.HTTPRequest) (*zappy.HTTPResponse, error)) zappy.Result {
	tlsOpts, err := tlsOptions(c)
	if err != nil {
		return zappy.Down(err)
	}
	req := zappy.HTTPRequest{
		Method:       strings.ToUpper(c.Config.Get("method").Str()),
		URL:          c.Target,
		TLS:          tlsOpts,
		MaxBodyBytes: c.Config.Get("max_body_bytes").Int(),
	}
	if v := c.Config.Get("max_redirects"); v.Exists() {
		req.MaxRedirects = int(v.Int())
		if req.MaxRedirects == 0 {
			req.MaxRedirects = zappy.NoRedirects
		}
	}
	if h := c.Config.Get("headers"); h.Len() > 0 {
		req.Headers = map[string]string{}
		for _, m := range h.Members() {
			req.Headers[m.Key] = m.Value.Str()
		}
	}
	if send := c.Config.Get("send"); send.Exists() {
		req.Body = []byte(send.Str())
		if req.Method == "" {
			req.Method = "POST"
		}
		if req.Headers == nil {
			req.Headers = map[string]string{}
		}
		// content_type is the body's type; without it a Content-Type the
		// headers give (in any case) is kept, else the default. Header
		// names differing only in case would reach the host as one header
		// set twice, in map order.
		ct := c.Config.Get("content_type")
		inHeaders := false
		for k := range req.Headers {
			if strings.EqualFold(k, "Content-Type") {
				if ct.Exists() {
					delete(req.Headers, k)
				} else {
					inHeaders = true
				}
			}
		}
		if !inHeaders {
			req.Headers["Content-Type"] = ct.StrOr("text/plain; charset=utf-8")
		}
	}
	resp, err := do(req)
	if resp == nil {
		return zappy.Down(err)
	}
	res := zappy.Result{Fields: httpFields(resp)}
	t := resp.JSON.Get("timings")
	for _, k := range []string{"dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "total_ms"} {
		res = res.Metric(k, t.Get(k).Float(), "ms")
	}
	res = res.Metric("size", float64(len(resp.Body)), "B")
	if err != nil {
		return withFields(zappy.Down(err), res)
	}
	res.LatencyMS = resp.TotalMS
	note, followed := redirectNote(resp, req.MaxRedirects == zappy.NoRedirects)
	if !statusAccepted(c.Config.Get("expect_status"), resp.Code) {
		msg := "HTTP " + resp.Status
		if followed {
			msg += " from " + resp.URL // the last hop
		}
		return withFields(zappy.DownMsg(msg+note), res)
	}
	if expect := c.Config.Get("expect").Str(); expect != "" && !strings.Contains(string(resp.Body), expect) {
		msg := "expected " + quote([]byte(expect)) + " not found in the body (" + resp.Status + ", " + itoa(len(resp.Body)) + " bytes"
		if resp.Truncated {
			msg += ", truncated at max_body_bytes"
		}
		return withFields(zappy.DownMsg(msg+")"), res)
	}
	res.Status = zappy.StatusUp
	res.Message = resp.Status + " in " + fmtMS(resp.TotalMS) + note
	return res
}

// redirectNote tells how the response was reached: after how many
// redirects, or, with max_redirects 0 (noFollow), that the redirect it is
// was not followed. The host records that unfollowed redirect among the
// hops too. followed reports whether a redirect was followed.
func redirectNote(resp *zappy.HTTPResponse, noFollow bool) (note string, followed bool) {
	hops := resp.JSON.Get("redirects")
	n := hops.Len()
	switch {
	case n == 0:
		return "", false
	case noFollow:
		return " (redirect to " + hops.Index(n-1).Get("location").Str() + " not followed: max_redirects is 0)", false
	}
	return " after " + itoa(n) + " redirect(s)", true
}

func statusAccepted(want zjson.Value, code int) bool {
	switch want.Kind() {
	case zjson.Null:
		return code >= 200 && code < 300
	case zjson.Array:
		for _, v := range want.Array() {
			if int(v.Int()) == code {
				return true
			}
		}
		return false
	}
	return int(want.Int()) == code
}

// httpFields exposes the response to assertions: code, status, body,
// headers, redirects, timings, url, remote_addr, tls and cert (the leaf).
func httpFields(resp *zappy.HTTPResponse) map[string]any {
	f := map[string]any{}
	for _, m := range resp.JSON.Members() {
		f[m.Key] = m.Value
	}
	body := resp.Body
	if len(body) > maxBodyField {
		body = body[:maxBodyField]
	}
	f["body"] = string(body)
	if resp.TLS != nil {
		f["cert"] = resp.TLS.JSON.Get("chain").Index(0)
	}
	if _, ok := f["redirects"]; !ok {
		f["redirects"] = []any{}
	}
	delete(f, "error")
	f["code"] = resp.Code
	f["size"] = len(resp.Body)
	return f
}
