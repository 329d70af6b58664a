// Package webhook delivers events to a generic HTTP endpoint, the way
// APMonitor's outage_webhooks do: the event's text is encoded (URL, HTML,
// JSON or CSVQUOTED), wrapped in request_prefix and request_suffix, and sent
// as the body of a POST or appended to the URL of a GET.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hook"
)

func init() { hook.Register("webhook", New) }

// Encodings of the message (request_encoding).
const (
	EncodingURL       = "URL"       // url.QueryEscape
	EncodingHTML      = "HTML"      // html.EscapeString
	EncodingJSON      = "JSON"      // a JSON string, or {"message": ...} without prefix and suffix
	EncodingCSVQuoted = "CSVQUOTED" // "..." with quotes doubled
)

// Config is one webhook, APMonitor's outage_webhooks item plus headers.
type Config struct {
	EndpointURL     string            `yaml:"endpoint_url" json:"endpoint_url"`
	RequestMethod   string            `yaml:"request_method" json:"request_method"`     // GET or POST
	RequestEncoding string            `yaml:"request_encoding" json:"request_encoding"` // URL, HTML, JSON or CSVQUOTED
	RequestPrefix   string            `yaml:"request_prefix" json:"request_prefix"`
	RequestSuffix   string            `yaml:"request_suffix" json:"request_suffix"`
	Headers         map[string]string `yaml:"headers" json:"headers"` // added to (and overriding) the default headers
}

// Validate checks the configuration by APMonitor's rules: endpoint_url,
// request_method and request_encoding are required, and JSON is POST only.
// Method and encoding are matched case-insensitively.
func (c Config) Validate() error {
	if err := hook.CheckURL("endpoint_url", c.EndpointURL); err != nil {
		return err
	}
	method := strings.ToUpper(c.RequestMethod)
	switch method {
	case "":
		return errors.New("request_method is required (GET or POST)")
	case http.MethodGet, http.MethodPost:
	default:
		return fmt.Errorf("request_method must be GET or POST, not %q", c.RequestMethod)
	}
	switch strings.ToUpper(c.RequestEncoding) {
	case "":
		return errors.New("request_encoding is required (URL, HTML, JSON or CSVQUOTED)")
	case EncodingJSON:
		if method != http.MethodPost {
			return errors.New("request_encoding JSON needs request_method POST")
		}
	case EncodingURL, EncodingHTML, EncodingCSVQuoted:
	default:
		return fmt.Errorf("request_encoding must be URL, HTML, JSON or CSVQUOTED, not %q", c.RequestEncoding)
	}
	for k, v := range c.Headers {
		if k == "" || strings.ContainsAny(k, " :\r\n\t") {
			return fmt.Errorf("headers: invalid header name %q", k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("headers: value of %q has a line break", k)
		}
	}
	return nil
}

// Notifier sends events to one webhook.
type Notifier struct {
	sender hook.Sender
	cfg    Config
}

// New checks cfg and returns a webhook notifier called name.
func New(name string, cfg Config) (*Notifier, error) {
	s, err := hook.NewSender("webhook", name, cfg)
	if err != nil {
		return nil, err
	}
	cfg.RequestMethod = strings.ToUpper(cfg.RequestMethod)
	cfg.RequestEncoding = strings.ToUpper(cfg.RequestEncoding)
	return &Notifier{sender: s, cfg: cfg}, nil
}

// Name is the notifier's name.
func (n *Notifier) Name() string { return n.sender.Name() }

// payload is prefix + encoded text + suffix, what Send puts in the body of a
// POST or after the URL of a GET. JSON without prefix and suffix is the
// object {"message": text}; with either, the text is encoded as a JSON string
// that the prefix and suffix wrap (request_prefix '{"text": ' and
// request_suffix '}' make a Slack payload).
func (n *Notifier) payload(e notify.Event) string {
	text := notify.Text(e)
	var enc string
	switch n.cfg.RequestEncoding {
	case EncodingURL:
		enc = url.QueryEscape(text)
	case EncodingHTML:
		enc = html.EscapeString(text)
	case EncodingCSVQuoted:
		enc = `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
	case EncodingJSON:
		if n.cfg.RequestPrefix == "" && n.cfg.RequestSuffix == "" {
			return `{"message":` + jsonString(text) + `}`
		}
		enc = jsonString(text)
	}
	return n.cfg.RequestPrefix + enc + n.cfg.RequestSuffix
}

// jsonString encodes s as a JSON string, leaving <, > and & readable.
func jsonString(s string) string {
	b, _ := hook.JSON(s) // a string always encodes
	return string(b)
}

var contentTypes = map[string]string{
	EncodingURL:       "application/x-www-form-urlencoded",
	EncodingHTML:      "text/html; charset=utf-8",
	EncodingJSON:      "application/json",
	EncodingCSVQuoted: "text/csv; charset=utf-8",
}

// Send delivers e. POST sends the payload as the body with a Content-Type
// matching the encoding. GET appends the payload to endpoint_url: directly if
// it starts with "?" or "&", else after "?" (no query yet) or "&" (a query
// that does not already end in "?" or "&"). Characters of the payload that
// may not appear in a URL (spaces, quotes, "#", non-ASCII) are
// percent-encoded first, as Python's requests does, so HTML and CSVQUOTED
// payloads still make a valid URL.
func (n *Notifier) Send(ctx context.Context, e notify.Event) error {
	payload := n.payload(e)
	r := hook.Request{Method: n.cfg.RequestMethod, URL: n.cfg.EndpointURL, IdempotencyKey: e.ID, Header: http.Header{}}
	for k, v := range n.cfg.Headers {
		r.Header.Set(k, v)
	}
	if r.Method == http.MethodGet {
		r.URL = appendQuery(n.cfg.EndpointURL, requote(payload))
	} else {
		r.Body = []byte(payload)
		r.ContentType = contentTypes[n.cfg.RequestEncoding]
	}
	return n.sender.Do(ctx, r)
}

// appendQuery joins endpoint (without its #fragment, which is never sent)
// and a query payload, see Send.
func appendQuery(endpoint, q string) string {
	base, _, _ := strings.Cut(endpoint, "#")
	switch {
	case strings.HasPrefix(q, "?") || strings.HasPrefix(q, "&"):
		return base + q
	case !strings.Contains(base, "?"):
		return base + "?" + q
	case strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&"):
		return base + q
	}
	return base + "&" + q
}

// requote percent-encodes the bytes of a query payload that are neither
// reserved nor unreserved URL characters, "%" not followed by two hex digits
// (like requests.utils.requote_uri), and "#", which would otherwise cut the
// payload short as a fragment; what is already valid is left alone.
func requote(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c == '%' && i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2]):
			b.WriteByte(c)
		case c != '%' && (isUnreserved(c) || strings.IndexByte("!$&'()*+,/:;=?@[]~", c) >= 0):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
