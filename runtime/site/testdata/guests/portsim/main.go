//go:build wasip1

// Command portsim is a test module for the daemon: a stand-in for a switch
// port monitor. Its target is an HTTP URL answering one line per port
// ("Gi0/2 oper=down admin=up"); it keeps the ports' states between runs and
// reports each port whose state changed as a "PORT CHANGE" event while the
// monitor stays up. A status other than 200 makes it down. Its result fields
// show the notification pacing the host handed it.
package main

import (
	"sort"
	"strconv"
	"strings"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

func init() {
	zappy.Module("portsim", "1.0.0")
	zappy.Register(zappy.Type{Name: "portsim", Capabilities: []string{"http"}}, check)
}

func check(c *zappy.Check) zappy.Result {
	resp, err := c.HTTP(zappy.HTTPRequest{URL: c.Target})
	if err != nil {
		return zappy.Down(err)
	}
	if resp.Code != 200 {
		return zappy.DownMsg("HTTP " + resp.Status)
	}
	ports := map[string]string{}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(resp.Body)), "\n") {
		name, st, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		ports[name] = st
		names = append(names, name)
	}
	sort.Strings(names)
	r := zappy.Up(strconv.Itoa(len(names)) + " ports")
	state := map[string]any{}
	for _, n := range names {
		state[n] = ports[n]
		if was := c.State.Get(n).Str(); was != "" && was != ports[n] {
			r = r.Event("PORT CHANGE", n+" "+ports[n]+" (was "+was+")", "if:"+n)
		}
	}
	r.State = state
	return r.Field("notify_every_ms", c.NotifyEvery.Milliseconds()).Field("after_every_n", c.AfterEveryN)
}

func main() {}
