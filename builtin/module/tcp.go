package main

import (
	"bytes"
	"strings"
	"time"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

const tcpSchema = `{"type":"object","properties":{
 "send":{"type":"string","description":"data to send after connecting"},
 "content_type":{"enum":["text","hex","base64"],"description":"encoding of send (default text)"},
 "expect":{"type":"string","description":"substring the service must send back"}}}`

// After the expected text, a check reads the rest of its line (for the
// banner field) for at most bannerRestWait, and at most bannerRestMax bytes.
const (
	bannerRestWait = 100 * time.Millisecond
	bannerRestMax  = 4096
)

// checkTCP connects; with send it writes the payload; with expect it reads
// until the expected text arrives. A port that stays silent fails an expect
// (APMonitor 1.2.0 reported such a port as up).
//
// It is written with callbacks (zappy.RegisterThen) because tcp checks are
// the ones run by the thousand: parked on a read, such a check holds no
// goroutine and no stack in the module, only its closures.
func checkTCP(c *zappy.Check, done func(zappy.Result)) {
	send, expect := c.Config.Get("send").Exists(), c.Config.Get("expect").Str()
	if !send && expect == "" {
		// Connect-only: the host closes the connection itself, saving a
		// round trip.
		c.ProbeTCPThen(c.Target, nil, func(info *zappy.ConnectInfo, err error) {
			if err != nil {
				done(zappy.Down(err))
				return
			}
			r := tcpResult(zappy.Up(connectedMsg(info)), info, -1, nil, -1)
			r.LatencyMS = info.ConnectMS
			done(r)
		})
		return
	}
	start := time.Now()
	c.DialTCPThen(c.Target, nil, func(conn *zappy.Conn, err error) {
		if err != nil {
			done(zappy.Down(err))
			return
		}
		end := func(r zappy.Result) {
			conn.Close()
			done(r)
		}
		// The result's fields are built once the check is decided, not
		// before it waits.
		if !send {
			tcpExpect(c, conn, expect, -1, start, end)
			return
		}
		data, err := sendBytes(c)
		if err != nil {
			end(zappy.ErrorMsg(err.Error()))
			return
		}
		conn.WriteThen(data, func(_ int, err error) {
			if err != nil {
				end(tcpResult(zappy.Down(err), &conn.ConnectInfo, -1, nil, -1))
				return
			}
			tcpExpect(c, conn, expect, len(data), start, end)
		})
	})
}

// tcpExpect finishes a tcp check after the connect (and the send, when
// sent >= 0): up at once without expect, else once the expected text
// arrives.
func tcpExpect(c *zappy.Check, conn *zappy.Conn, expect string, sent int, start time.Time, end func(zappy.Result)) {
	if expect == "" {
		end(tcpResult(zappy.Up(connectedMsg(&conn.ConnectInfo)), &conn.ConnectInfo, sent, nil, -1))
		return
	}
	conn.ReadThen(zappy.ReadRequest{Mode: "until", Delim: expect}, func(data []byte, info zappy.ReadInfo, err error) {
		if data == nil {
			data = []byte{}
		}
		want := quote([]byte(expect))
		var r zappy.Result
		switch {
		case err == nil:
			// The check's latency is the time to the expected text, not
			// the wait for the rest of its line below.
			up := zappy.Up("got " + want + " from " + conn.Remote)
			up.LatencyMS = float64(time.Since(start).Microseconds()) / 1000
			if bytes.IndexByte(data, '\n') >= 0 {
				end(tcpResult(up, &conn.ConnectInfo, sent, data, info.ReadMS))
				return
			}
			// The banner is the whole first line, not the line cut at the
			// expected text: expect "SSH-2.0" must still let an assertion
			// see "SSH-2.0-OpenSSH_9.2p1". The rest of the line is almost
			// always buffered already; a service that sends no line end
			// costs at most bannerRestWait, within the check's deadline.
			wait := min(bannerRestWait, c.Remaining()/2)
			if wait < time.Millisecond {
				end(tcpResult(up, &conn.ConnectInfo, sent, data, info.ReadMS))
				return
			}
			conn.ReadThen(zappy.ReadRequest{Mode: "line", Timeout: wait, MaxBytes: bannerRestMax}, func(rest []byte, _ zappy.ReadInfo, _ error) {
				end(tcpResult(up, &conn.ConnectInfo, sent, append(data, rest...), info.ReadMS))
			})
			return
		case len(data) == 0 && zappy.CodeOf(err) == "timeout":
			r = zappy.DownMsg("expected " + want + " but " + conn.Remote + " stayed silent (" + err.Error() + ")")
		case len(data) == 0 && zappy.CodeOf(err) == "eof":
			r = zappy.DownMsg("expected " + want + " but " + conn.Remote + " closed the connection without sending anything")
		case len(data) > 0:
			r = zappy.DownMsg("expected " + want + ", got " + quote(data))
		default:
			r = zappy.Down(err)
		}
		end(tcpResult(r, &conn.ConnectInfo, sent, data, -1))
	})
}

// tcpResult adds a tcp check's fields and metrics to r: the connection's,
// sent when a payload went out (sent >= 0), response and banner when the
// check read (response != nil), and response_ms when the expected text came
// (responseMS >= 0).
func tcpResult(r zappy.Result, conn *zappy.ConnectInfo, sent int, response []byte, responseMS float64) zappy.Result {
	// With, not a Fields map: connect-only checks run by the thousand.
	r = r.With("remote", conn.Remote).WithFloat("connect_ms", conn.ConnectMS)
	r.Metrics = nil
	r = r.Metric("connect_ms", conn.ConnectMS, "ms")
	if sent >= 0 {
		r = r.With("sent", sent)
	}
	if response != nil {
		r = r.With("response", string(response)).With("banner", firstLine(response))
	}
	if responseMS >= 0 {
		r = r.Metric("response_ms", responseMS, "ms")
	}
	return r
}

// connectedMsg is "connected to REMOTE in N ms", built in one allocation:
// connect-only tcp checks run by the thousand.
func connectedMsg(info *zappy.ConnectInfo) string {
	var buf [96]byte
	b := append(buf[:0], "connected to "...)
	b = append(b, info.Remote...)
	b = append(b, " in "...)
	return string(appendMS(b, info.ConnectMS))
}

// withFields is r with from's fields and metrics, however they were set
// (Fields or With): from with r's status, class, message, latency, state
// and events. A field added to zappy.Result must be added here.
func withFields(r, from zappy.Result) zappy.Result {
	from.Status, from.Class, from.Message, from.LatencyMS, from.State, from.Events = r.Status, r.Class, r.Message, r.LatencyMS, r.State, r.Events
	return from
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, "\r")
}
