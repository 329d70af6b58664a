package main

import (
	"strings"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

const tcpSchema = `{"type":"object","properties":{
 "send":{"type":"string","description":"data to send after connecting"},
 "content_type":{"enum":["text","hex","base64"],"description":"encoding of send (default text)"},
 "expect":{"type":"string","description":"substring the service must send back"}}}`

// checkTCP connects; with send it writes the payload; with expect it reads
// until the expected text arrives. A port that stays silent fails an expect
// (APMonitor 1.2.0 reported such a port as up).
func checkTCP(c *zappy.Check) zappy.Result {
	if !c.Config.Get("send").Exists() && c.Config.Get("expect").Str() == "" {
		// Connect-only: the host closes the connection itself, saving a
		// round trip.
		info, err := c.ProbeTCP(c.Target, nil)
		if err != nil {
			return zappy.Down(err)
		}
		r := zappy.Up("connected to "+info.Remote+" in "+fmtMS(info.ConnectMS)).Metric("connect_ms", info.ConnectMS, "ms")
		r.Fields = map[string]any{"remote": info.Remote, "connect_ms": info.ConnectMS}
		r.LatencyMS = info.ConnectMS
		return r
	}
	conn, err := c.DialTCP(c.Target, nil)
	if err != nil {
		return zappy.Down(err)
	}
	defer conn.Close()
	// The result's fields are built once the check is decided, not before
	// it waits: thousands of checks parked on a read then hold no map each.
	sent := -1
	if c.Config.Get("send").Exists() {
		data, err := payload(c)
		if err != nil {
			return zappy.ErrorMsg(err.Error())
		}
		if _, err := conn.Write(data); err != nil {
			return tcpResult(zappy.Down(err), conn, sent, nil, -1)
		}
		sent = len(data)
	}
	expect := c.Config.Get("expect").Str()
	if expect == "" {
		return tcpResult(zappy.Up("connected to "+conn.Remote+" in "+fmtMS(conn.ConnectMS)), conn, sent, nil, -1)
	}
	data, info, err := conn.Read(zappy.ReadRequest{Mode: "until", Delim: expect})
	if data == nil {
		data = []byte{}
	}
	switch {
	case err == nil:
		return tcpResult(zappy.Up("got "+quote([]byte(expect))+" from "+conn.Remote), conn, sent, data, info.ReadMS)
	case len(data) == 0 && zappy.CodeOf(err) == "timeout":
		return tcpResult(zappy.DownMsg("expected "+quote([]byte(expect))+" but "+conn.Remote+" stayed silent ("+err.Error()+")"), conn, sent, data, -1)
	case len(data) == 0 && zappy.CodeOf(err) == "eof":
		return tcpResult(zappy.DownMsg("expected "+quote([]byte(expect))+" but "+conn.Remote+" closed the connection without sending anything"), conn, sent, data, -1)
	case len(data) > 0:
		return tcpResult(zappy.DownMsg("expected "+quote([]byte(expect))+", got "+quote(data)), conn, sent, data, -1)
	}
	return tcpResult(zappy.Down(err), conn, sent, data, -1)
}

// tcpResult adds a tcp check's fields and metrics to r: the connection's,
// sent when a payload went out (sent >= 0), response and banner when the
// check read (response != nil), and response_ms when the expected text came
// (responseMS >= 0).
func tcpResult(r zappy.Result, conn *zappy.Conn, sent int, response []byte, responseMS float64) zappy.Result {
	r.Fields = map[string]any{"remote": conn.Remote, "connect_ms": conn.ConnectMS}
	r.Metrics = nil
	r = r.Metric("connect_ms", conn.ConnectMS, "ms")
	if sent >= 0 {
		r.Fields["sent"] = sent
	}
	if response != nil {
		r.Fields["response"] = string(response)
		r.Fields["banner"] = firstLine(response)
	}
	if responseMS >= 0 {
		r = r.Metric("response_ms", responseMS, "ms")
	}
	return r
}

func withFields(r, from zappy.Result) zappy.Result {
	r.Fields, r.Metrics = from.Fields, from.Metrics
	return r
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, "\r")
}
