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
	res := zappy.Result{Fields: map[string]any{"remote": conn.Remote, "connect_ms": conn.ConnectMS}}
	res = res.Metric("connect_ms", conn.ConnectMS, "ms")
	if c.Config.Get("send").Exists() {
		data, err := payload(c)
		if err != nil {
			return zappy.ErrorMsg(err.Error())
		}
		if _, err := conn.Write(data); err != nil {
			return withFields(zappy.Down(err), res)
		}
		res.Fields["sent"] = len(data)
	}
	expect := c.Config.Get("expect").Str()
	if expect == "" {
		res.Status, res.Message = zappy.StatusUp, "connected to "+conn.Remote+" in "+fmtMS(conn.ConnectMS)
		return res
	}
	data, info, err := conn.Read(zappy.ReadRequest{Mode: "until", Delim: expect})
	res.Fields["response"] = string(data)
	res.Fields["banner"] = firstLine(data)
	switch {
	case err == nil:
		res.Status, res.Message = zappy.StatusUp, "got "+quote([]byte(expect))+" from "+conn.Remote
		res = res.Metric("response_ms", info.ReadMS, "ms")
		return res
	case len(data) == 0 && zappy.CodeOf(err) == "timeout":
		return withFields(zappy.DownMsg("expected "+quote([]byte(expect))+" but "+conn.Remote+" stayed silent ("+err.Error()+")"), res)
	case len(data) == 0 && zappy.CodeOf(err) == "eof":
		return withFields(zappy.DownMsg("expected "+quote([]byte(expect))+" but "+conn.Remote+" closed the connection without sending anything"), res)
	case len(data) > 0:
		return withFields(zappy.DownMsg("expected "+quote([]byte(expect))+", got "+quote(data)), res)
	}
	return withFields(zappy.Down(err), res)
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
