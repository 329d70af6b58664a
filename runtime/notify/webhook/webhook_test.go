package webhook

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/zappy-mon/zappy/runtime/notify"
	"github.com/zappy-mon/zappy/runtime/notify/internal/hooktest"
)

// TestSend checks the exact request of each encoding and method for an
// outage, a reminder and a recovery against testdata/<case>_<kind>.txt.
func TestSend(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	cases := []struct {
		name string
		cfg  Config
	}{
		{"post_url_pushover", Config{EndpointURL: recv.URL + "/1/messages.json", RequestMethod: "POST", RequestEncoding: "URL",
			RequestPrefix: "token=app-token&user=user-key&message="}},
		{"post_json", Config{EndpointURL: recv.URL + "/alerts", RequestMethod: "POST", RequestEncoding: "JSON"}},
		{"post_json_slack", Config{EndpointURL: recv.URL + "/services/T1/B2/X3", RequestMethod: "post", RequestEncoding: "json",
			RequestPrefix: `{"text": `, RequestSuffix: `}`}},
		{"post_html_headers", Config{EndpointURL: recv.URL + "/html", RequestMethod: "POST", RequestEncoding: "HTML",
			RequestPrefix: "<p>", RequestSuffix: "</p>",
			Headers: map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "text/plain", "X-Source": "zappy"}}},
		{"post_csv", Config{EndpointURL: recv.URL + "/csv", RequestMethod: "POST", RequestEncoding: "CSVQUOTED",
			RequestPrefix: "HomeLab,", RequestSuffix: "\n"}},
		{"get_url_query", Config{EndpointURL: recv.URL + "/send?token=abc", RequestMethod: "GET", RequestEncoding: "URL",
			RequestPrefix: "msg="}},
		{"get_url_bare", Config{EndpointURL: recv.URL + "/send#frag", RequestMethod: "GET", RequestEncoding: "URL"}},
		{"get_html", Config{EndpointURL: recv.URL + "/send?", RequestMethod: "GET", RequestEncoding: "HTML",
			RequestPrefix: "&text="}},
		{"get_csv", Config{EndpointURL: recv.URL + "/send?a=1&", RequestMethod: "GET", RequestEncoding: "CSVQUOTED",
			RequestPrefix: "line="}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv.SendGolden(t, hooktest.New(t, New, "hook", c.cfg), c.name+"_", notify.KindOutage, notify.KindReminder, notify.KindRecovery)
		})
	}
}

// TestPayloads spells out the encodings on one outage, independently of the
// golden files.
func TestPayloads(t *testing.T) {
	e := notify.Event{Kind: notify.KindOutage, Site: "Lab", Monitor: "web", Address: "http://h/?a=1&b=2",
		Message: `got "<b>down</b>"`, At: hooktest.Since, Since: hooktest.Since, Location: hooktest.Zone(t)}
	// Text: web in Lab new outage: got "<b>down</b>" (http://h/?a=1&b=2) at 2:15 PM EDT, down for 0 secs
	tests := []struct {
		enc, prefix, suffix string
		want                string
	}{
		{"URL", "", "", `web+in+Lab+new+outage%3A+got+%22%3Cb%3Edown%3C%2Fb%3E%22+%28http%3A%2F%2Fh%2F%3Fa%3D1%26b%3D2%29+at+2%3A15+PM+EDT%2C+down+for+0+secs`},
		{"HTML", "", "", `web in Lab new outage: got &#34;&lt;b&gt;down&lt;/b&gt;&#34; (http://h/?a=1&amp;b=2) at 2:15 PM EDT, down for 0 secs`},
		{"CSVQUOTED", "", "", `"web in Lab new outage: got ""<b>down</b>"" (http://h/?a=1&b=2) at 2:15 PM EDT, down for 0 secs"`},
		{"JSON", "", "", `{"message":"web in Lab new outage: got \"<b>down</b>\" (http://h/?a=1&b=2) at 2:15 PM EDT, down for 0 secs"}`},
		{"JSON", `{"text": `, `}`, `{"text": "web in Lab new outage: got \"<b>down</b>\" (http://h/?a=1&b=2) at 2:15 PM EDT, down for 0 secs"}`},
		{"JSON", `{"channel":"#ops","text":`, `,"icon_emoji":":rotating_light:"}`, `{"channel":"#ops","text":"web in Lab new outage: got \"<b>down</b>\" (http://h/?a=1&b=2) at 2:15 PM EDT, down for 0 secs","icon_emoji":":rotating_light:"}`},
		{"URL", "token=t&message=", "&priority=1", `token=t&message=web+in+Lab+new+outage%3A+got+%22%3Cb%3Edown%3C%2Fb%3E%22+%28http%3A%2F%2Fh%2F%3Fa%3D1%26b%3D2%29+at+2%3A15+PM+EDT%2C+down+for+0+secs&priority=1`},
	}
	for _, tt := range tests {
		n := hooktest.New(t, New, "hook", Config{EndpointURL: "http://127.0.0.1/x", RequestMethod: "POST", RequestEncoding: tt.enc, RequestPrefix: tt.prefix, RequestSuffix: tt.suffix})
		if got := n.payload(e); got != tt.want {
			t.Errorf("%s %q %q:\n got %s\nwant %s", tt.enc, tt.prefix, tt.suffix, got, tt.want)
		}
	}
}

func TestAppendQuery(t *testing.T) {
	tests := []struct{ endpoint, q, want string }{
		{"http://h/p", "m=x", "http://h/p?m=x"},
		{"http://h/p?t=1", "m=x", "http://h/p?t=1&m=x"},
		{"http://h/p?", "m=x", "http://h/p?m=x"},
		{"http://h/p?t=1&", "m=x", "http://h/p?t=1&m=x"},
		{"http://h/p?t=1", "&m=x", "http://h/p?t=1&m=x"},
		{"http://h/p", "?m=x", "http://h/p?m=x"},
		{"http://h/p#top", "m=x", "http://h/p?m=x"},
		{"http://h/p?t=1#top", "&m=x", "http://h/p?t=1&m=x"},
	}
	for _, tt := range tests {
		if got := appendQuery(tt.endpoint, tt.q); got != tt.want {
			t.Errorf("appendQuery(%q, %q) = %q, want %q", tt.endpoint, tt.q, got, tt.want)
		}
	}
}

func TestRequote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a+b%3Ac", "a+b%3Ac"},
		{`"a b" #1 <x> 50% done`, `%22a%20b%22%20%231%20%3Cx%3E%2050%25%20done`},
		{"&#34;x&#34;", "&%2334;x&%2334;"},
		{"café", "caf%C3%A9"},
		{"k=v&l=(1,2);m:@/?~!*'$[]", "k=v&l=(1,2);m:@/?~!*'$[]"},
		{"100%", "100%25"},
	}
	for _, tt := range tests {
		if got := requote(tt.in); got != tt.want {
			t.Errorf("requote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSendError(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusUnauthorized, `{"error":"invalid token"}`)
	n := hooktest.New(t, New, "ops", Config{EndpointURL: recv.URL + "/hook?token=secret", RequestMethod: "GET", RequestEncoding: "URL"})
	err := n.Send(context.Background(), hooktest.Events(t)[notify.KindOutage])
	want := `webhook "ops": GET ` + strings.TrimPrefix(recv.URL, "http://") + `: 401 Unauthorized: {"error":"invalid token"}`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{EndpointURL: "https://h/x", RequestMethod: "POST", RequestEncoding: "JSON"}
	hooktest.Validate(t, ok, []hooktest.Edit[Config]{
		{"ok", func(*Config) {}, ""},
		{"lower case", func(c *Config) { c.RequestMethod, c.RequestEncoding = "get", "csvquoted" }, ""},
		{"no url", func(c *Config) { c.EndpointURL = "" }, "endpoint_url is required"},
		{"relative url", func(c *Config) { c.EndpointURL = "/x" }, `endpoint_url: scheme must be http or https, not ""`},
		{"no method", func(c *Config) { c.RequestMethod = "" }, "request_method is required (GET or POST)"},
		{"bad method", func(c *Config) { c.RequestMethod = "PUT" }, `request_method must be GET or POST, not "PUT"`},
		{"no encoding", func(c *Config) { c.RequestEncoding = "" }, "request_encoding is required (URL, HTML, JSON or CSVQUOTED)"},
		{"bad encoding", func(c *Config) { c.RequestEncoding = "XML" }, `request_encoding must be URL, HTML, JSON or CSVQUOTED, not "XML"`},
		{"json get", func(c *Config) { c.RequestMethod = "GET" }, "request_encoding JSON needs request_method POST"},
		{"bad header", func(c *Config) { c.Headers = map[string]string{"X Y": "1"} }, `headers: invalid header name "X Y"`},
		{"header injection", func(c *Config) { c.Headers = map[string]string{"X-Y": "1\r\nEvil: 1"} }, `headers: value of "X-Y" has a line break`},
	})
	if _, err := New("w", Config{}); err == nil || err.Error() != `webhook notifier "w": endpoint_url is required` {
		t.Errorf("New error = %v", err)
	}
}

// TestSendChange sends a change a module reported through a JSON POST and
// a URL-encoded GET: the generic text, encoded as configured.
func TestSendChange(t *testing.T) {
	recv := hooktest.NewReceiver(t, http.StatusOK, "ok")
	e := hooktest.Events(t)[notify.KindChange]
	tests := []struct {
		cfg       Config
		method    string
		uri, body string
	}{
		{Config{EndpointURL: recv.URL + "/alerts", RequestMethod: "POST", RequestEncoding: "JSON"}, "POST", "/alerts",
			`{"message":"PORT CHANGE: office-switch in HomeLab: GigabitEthernet0/2 oper=down admin=up (was oper=up admin=up) at 2:22 PM EDT"}`},
		{Config{EndpointURL: recv.URL + "/send?token=abc", RequestMethod: "GET", RequestEncoding: "URL", RequestPrefix: "msg="}, "GET",
			"/send?token=abc&msg=PORT+CHANGE%3A+office-switch+in+HomeLab%3A+GigabitEthernet0%2F2+oper%3Ddown+admin%3Dup+%28was+oper%3Dup+admin%3Dup%29+at+2%3A22+PM+EDT", ""},
	}
	for _, tt := range tests {
		n := hooktest.New(t, New, "hook", tt.cfg)
		r := recv.Deliver(t, n, e)
		if r.Method != tt.method || r.URI != tt.uri || r.Body != tt.body || r.Header.Get("Idempotency-Key") != "evt-6" {
			t.Errorf("got %s %s key %q body %q\nwant %s %s key evt-6 body %q", r.Method, r.URI, r.Header.Get("Idempotency-Key"), r.Body, tt.method, tt.uri, tt.body)
		}
	}
}
