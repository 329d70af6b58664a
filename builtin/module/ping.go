package main

import (
	"strconv"
	"time"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

const pingSchema = `{"type":"object","properties":{
 "count":{"type":"integer","minimum":1,"description":"echo requests per check (default 3)"},
 "interval_ms":{"type":"integer","minimum":10,"description":"between requests (default 200)"},
 "packet_size":{"type":"integer","minimum":16,"description":"payload bytes (default 56)"},
 "ttl":{"type":"integer","minimum":1,"maximum":255},
 "degraded_loss_pct":{"type":"number","description":"loss at or above which the host is degraded rather than up (default: any loss)"}}}`

func itoa(n int) string { return strconv.Itoa(n) }

// checkPing sends echo requests: all lost is down, some lost is degraded.
func checkPing(c *zappy.Check) zappy.Result {
	count := int(c.Config.Get("count").IntOr(3))
	interval := time.Duration(c.Config.Get("interval_ms").IntOr(200)) * time.Millisecond
	r, err := c.Ping(zappy.Host(c.Target), zappy.PingOptions{
		Count:    count,
		Interval: interval,
		Size:     int(c.Config.Get("packet_size").Int()),
		TTL:      int(c.Config.Get("ttl").Int()),
		Timeout:  c.Remaining(),
	})
	if err != nil {
		return zappy.Down(err)
	}
	res := zappy.Result{Fields: map[string]any{}}
	for _, m := range r.JSON.Members() {
		res.Fields[m.Key] = m.Value
	}
	res = res.Metric("rtt_avg", r.AvgMS, "ms").Metric("rtt_max", r.MaxMS, "ms").Metric("loss", r.LossPct, "%")
	summary := itoa(r.Received) + "/" + itoa(r.Sent) + " replies from " + r.Address
	if r.Received > 0 {
		res.LatencyMS = r.AvgMS // degraded too: the round trip, not the time spent waiting for lost replies
	}
	switch {
	case r.Received == 0:
		res.Status, res.Class = zappy.StatusDown, zappy.ClassExceptionError
		res.Message = "no reply from " + r.Address + " (" + itoa(r.Sent) + " sent, 100% loss)"
	case r.LossPct > 0 && r.LossPct >= c.Config.Get("degraded_loss_pct").Float():
		res.Status = zappy.StatusDegraded
		res.Message = summary + ", " + strconv.FormatFloat(r.LossPct, 'f', 0, 64) + "% loss, rtt avg " + fmtMS(r.AvgMS)
	default:
		res.Status = zappy.StatusUp
		res.Message = summary + ", rtt avg " + fmtMS(r.AvgMS)
	}
	return res
}
