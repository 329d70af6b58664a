package main

import (
	"bytes"
	"time"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

const udpSchema = `{"type":"object","required":["send"],"properties":{
 "send":{"type":"string","description":"datagram to send (required)"},
 "content_type":{"enum":["text","hex","base64"],"description":"encoding of send (default text)"},
 "expect":{"type":"string","description":"substring the reply must contain"},
 "fire_and_forget":{"type":["boolean","string","integer"],"description":"the service never answers (syslog, statsd): up when the datagram was sent and no ICMP port-unreachable came back"}}}`

// fireAndForgetWait is how long a fire-and-forget check listens for an ICMP
// port-unreachable before calling the datagram delivered.
const fireAndForgetWait = 500 * time.Millisecond

// checkUDP sends the datagram and waits for a reply. Unlike APMonitor 1.2.0,
// no reply is a failure unless the user opts into fire_and_forget.
func checkUDP(c *zappy.Check) zappy.Result {
	data, err := sendBytes(c)
	if err != nil {
		return zappy.ErrorMsg(err.Error())
	}
	expect := c.Config.Get("expect").Str()
	fireAndForget := truthy(c, "fire_and_forget", false) && expect == ""
	opts := zappy.UDPOptions{AwaitReply: true}
	if fireAndForget && c.Remaining() > fireAndForgetWait {
		opts.Timeout = fireAndForgetWait
	}
	reply, err := c.UDP(c.Target, data, opts)
	if err != nil {
		return zappy.Down(err)
	}
	res := zappy.Result{Fields: map[string]any{"sent": reply.Sent, "replied": reply.Replied, "from": reply.From, "response": string(reply.Data), "rtt_ms": reply.RTTMS}}
	if !reply.Replied {
		if fireAndForget {
			res.Status, res.Message = zappy.StatusUp, "sent "+byteCount(reply.Sent)+" to "+reply.From+" (fire and forget: no reply expected)"
			return res
		}
		msg := "no reply from " + reply.From + " within " + fmtMS(reply.RTTMS)
		if expect == "" {
			msg += " (set fire_and_forget: true for services that never answer)"
		} else {
			msg += " (expected a reply containing " + quote([]byte(expect)) + ")"
		}
		return withFields(zappy.Result{Status: zappy.StatusDown, Class: zappy.ClassExceptionError, Message: msg}, res)
	}
	res = res.Metric("rtt_ms", reply.RTTMS, "ms")
	res.LatencyMS = reply.RTTMS
	if expect != "" && !bytes.Contains(reply.Data, []byte(expect)) {
		return withFields(zappy.DownMsg("expected "+quote([]byte(expect))+" in the reply, got "+quote(reply.Data)), res)
	}
	res.Status, res.Message = zappy.StatusUp, "reply of "+byteCount(len(reply.Data))+" from "+reply.From+" in "+fmtMS(reply.RTTMS)
	return res
}

// byteCount is "1 byte" or "N bytes".
func byteCount(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return itoa(n) + " bytes"
}
