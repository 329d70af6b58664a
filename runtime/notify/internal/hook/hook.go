// Package hook holds what every HTTP notification provider shares: decoding
// a provider's configuration fields, checking URLs, and one delivery request
// with zappy's headers, timeout and error reporting.
package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/zappy-mon/zappy/runtime/notify"
)

// DefaultTimeout bounds one delivery unless the caller's context is shorter.
const DefaultTimeout = 10 * time.Second

// UserAgent is sent with every request.
const UserAgent = "zappy/1"

// maxErrorBody is how much of an error response goes into the error.
const maxErrorBody = 200

// commonKeys are notifier keys the config layer handles for every type.
var commonKeys = []string{"type", "name", "outages", "recoveries", "reminders"}

// Decode fills the struct out points to from fields (a notifier's YAML
// mapping as map[string]any), by the struct's yaml tags. Keys in commonKeys
// are skipped; any other key the struct does not have is an error that lists
// the known keys, so a typo is caught at start rather than at the first
// outage.
func Decode(fields map[string]any, out any) error {
	known := yamlKeys(reflect.TypeOf(out).Elem())
	in := make(map[string]any, len(fields))
	var unknown []string
	for k, v := range fields {
		switch {
		case slices.Contains(commonKeys, k):
		case slices.Contains(known, k):
			in[k] = v
		default:
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("unknown field(s) %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	doc, err := yaml.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding fields: %w", err)
	}
	if err := yaml.Unmarshal(doc, out); err != nil {
		return cleanYAMLError(err)
	}
	return nil
}

// yamlKeys lists the yaml keys of struct type t, sorted.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	slices.Sort(keys)
	return keys
}

var yamlLine = regexp.MustCompile(`^line \d+: `)

// cleanYAMLError drops yaml's line numbers, which refer to the re-encoded
// fields rather than to the user's file, and its "unmarshal errors" header.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		msgs[i] = yamlLine.ReplaceAllString(m, "")
	}
	return errors.New(strings.Join(msgs, "; "))
}

// CheckURL reports whether raw is an absolute http or https URL with a host;
// field names the configuration key in the error.
func CheckURL(field, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s: scheme must be http or https, not %q", field, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%s: no host in %q", field, raw)
	}
	return nil
}

// NewClient returns the HTTP client providers use: the default transport
// (proxies from the environment), and redirects followed only within the
// same host, because a webhook that redirects elsewhere would otherwise
// silently hand the message (and any token in it) to another party.
func NewClient() *http.Client {
	return &http.Client{CheckRedirect: sameHostRedirects}
}

func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing redirect from %s to another host (%s)", via[0].URL.Host, req.URL.Host)
	}
	return nil
}

// Request is one delivery.
type Request struct {
	Method         string
	URL            string
	Body           []byte
	ContentType    string      // default Content-Type ("" for none)
	Header         http.Header // extra headers; they override the defaults
	IdempotencyKey string      // sent as Idempotency-Key ("" for none)
}

// Do sends r with client, bounded by DefaultTimeout unless ctx ends first.
// Any status outside 2xx is an error carrying the status and up to 200 bytes
// of the response body. URLs in errors are cut down to their host because
// webhook URLs often carry a secret in their path or query.
func Do(ctx context.Context, client *http.Client, r Request) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Method, redact(err))
	}
	host := req.URL.Host
	req.Header.Set("User-Agent", UserAgent)
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.Method, host, redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody+1))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	text := strings.TrimSpace(strings.ToValidUTF8(string(snippet[:min(len(snippet), maxErrorBody)]), ""))
	if len(snippet) > maxErrorBody {
		text += "…"
	}
	if text == "" {
		return fmt.Errorf("%s %s: %s", r.Method, host, resp.Status)
	}
	return fmt.Errorf("%s %s: %s: %s", r.Method, host, resp.Status, text)
}

// redact removes the URL from a *url.Error, keeping what went wrong.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// JSON encodes v without escaping <, > and & (receivers show the text as is,
// and the payloads stay readable in tests and logs).
func JSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Truncate shortens s to at most n characters (runes), ending it with "…"
// when something was cut, for receivers that limit message length.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// TruncateBytes shortens s to at most n bytes without splitting a
// character, ending it with "…" when something was cut, for receivers that
// limit message size in bytes.
func TruncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Register makes a provider type configurable: its fields are decoded into
// a C (see Decode) and handed to newFn. Provider packages call it from init.
func Register[C any, P notify.Provider](typ string, newFn func(name string, cfg C) (P, error)) {
	notify.Register(typ, func(name string, fields map[string]any) (notify.Provider, error) {
		var cfg C
		if err := Decode(fields, &cfg); err != nil {
			return nil, configError(typ, name, err)
		}
		return newFn(name, cfg)
	})
}
