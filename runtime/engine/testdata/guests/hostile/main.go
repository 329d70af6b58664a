//go:build wasip1

// Command hostile is a test module for the engine: well-behaved check types
// next to misbehaving ones, so tests can show that one check's misbehaviour
// fails only what it should.
package main

import (
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	zappy "github.com/zappy-mon/zappy/sdk/go"
)

//go:wasmimport zappy op
func rawOp(check int64, op int32, reqPtr unsafe.Pointer, reqLen int32, dataPtr unsafe.Pointer, dataLen int32) int64

//go:wasmimport zappy done
func rawDone(check int64, ptr unsafe.Pointer, n int32) int32

//go:wasmimport zappy json_index
func rawJSONIndex(jsonPtr unsafe.Pointer, jsonLen int32, ixPtr unsafe.Pointer, ixCap int32) int32

var sink [][]byte

func init() {
	zappy.Module("hostile", "1.0.0")
	reg := func(name string, h zappy.Handler, caps ...string) {
		zappy.Register(zappy.Type{Name: name, Capabilities: caps}, h)
	}
	// connect: a well-behaved TCP connect check.
	reg("connect", func(c *zappy.Check) zappy.Result {
		info, err := c.ProbeTCP(c.Target, nil)
		if err != nil {
			return zappy.Down(err)
		}
		return zappy.Up("connected to " + info.Remote)
	}, "tcp")
	// fetch: GET the target URL and report its body, wherever the
	// target's redirects lead.
	reg("fetch", func(c *zappy.Check) zappy.Result {
		resp, err := c.HTTP(zappy.HTTPRequest{URL: c.Target})
		if err != nil {
			return zappy.Down(err)
		}
		return zappy.Up("fetched: " + string(resp.Body))
	}, "http")
	// banner: connect and read a line.
	reg("banner", func(c *zappy.Check) zappy.Result {
		conn, err := c.DialTCP(c.Target, nil)
		if err != nil {
			return zappy.Down(err)
		}
		defer conn.Close()
		line, err := conn.ReadLine()
		if err != nil {
			return zappy.Down(err)
		}
		// garbage_kb allocates that much per check, so that tests can make
		// the guest's garbage collector run while many checks are in flight.
		for i := int64(0); i < c.Config.Get("garbage_kb").Int(); i++ {
			sink = append(sink[:0], make([]byte, 1024))
		}
		if c.Config.Get("panic").Truthy() {
			var m map[string]int
			m["boom"] = 1 // nil map write
		}
		return zappy.Up(line).Field("banner", line)
	}, "tcp")
	// banner-then: banner written with callbacks (zappy.RegisterThen).
	then := func(name string, h zappy.ThenHandler) {
		zappy.RegisterThen(zappy.Type{Name: name, Capabilities: []string{"tcp"}}, h)
	}
	then("banner-then", func(c *zappy.Check, done func(zappy.Result)) {
		c.DialTCPThen(c.Target, nil, func(conn *zappy.Conn, err error) {
			if err != nil {
				done(zappy.Down(err))
				return
			}
			conn.ReadThen(zappy.ReadRequest{Mode: "line"}, func(line []byte, _ zappy.ReadInfo, err error) {
				conn.Close()
				if err != nil {
					done(zappy.Down(err))
					return
				}
				if c.Config.Get("panic").Truthy() {
					var m map[string]int
					m["boom"] = 1 // nil map write, inside a callback
				}
				done(zappy.Up(strings.TrimSpace(string(line))))
				done(zappy.DownMsg("a second done is ignored"))
				if c.Config.Get("panic_after_done").Truthy() {
					panic("after done: ignored, the first done won")
				}
			})
		})
	})
	// then-blocks calls a blocking primitive inside a callback.
	then("then-blocks", func(c *zappy.Check, done func(zappy.Result)) {
		c.DialTCPThen(c.Target, nil, func(conn *zappy.Conn, err error) {
			if err != nil {
				done(zappy.Down(err))
				return
			}
			_, err = conn.ReadLine()
			done(zappy.Down(err))
		})
	})
	// then-nodone forgets to call done.
	then("then-nodone", func(c *zappy.Check, done func(zappy.Result)) {})
	// sleep: waits config.ms through the host timer.
	reg("sleep", func(c *zappy.Check) zappy.Result {
		if err := c.Sleep(time.Duration(c.Config.Get("ms").Int()) * time.Millisecond); err != nil {
			return zappy.Down(err)
		}
		return zappy.Up("slept")
	})
	// then-sleep: a callback check that, given ms, reports from a
	// goroutine asleep in Go's own time.Sleep (which the SDK tells check
	// code to avoid, but which has to wake up eventually); without ms it
	// reports at once, leaving nothing runnable.
	zappy.RegisterThen(zappy.Type{Name: "then-sleep"}, func(c *zappy.Check, done func(zappy.Result)) {
		ms := c.Config.Get("ms").Int()
		if ms == 0 {
			done(zappy.Up("at once"))
			return
		}
		go func() {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			done(zappy.Up("woke"))
		}()
	})
	// state: counts runs through the kept state.
	reg("state", func(c *zappy.Check) zappy.Result {
		n := c.State.Get("n").Int() + 1
		r := zappy.Up("run").Field("n", n)
		r.State = map[string]any{"n": n}
		return r
	})
	reg("panic", func(c *zappy.Check) zappy.Result {
		if c.Config.Get("after_ms").Int() > 0 {
			c.Sleep(time.Duration(c.Config.Get("after_ms").Int()) * time.Millisecond)
		}
		var m map[string]int
		m["boom"] = 1 // nil map write
		return zappy.Up("unreachable")
	})
	reg("loop", func(c *zappy.Check) zappy.Result {
		x := 0
		for {
			x++
		}
	})
	reg("oom", func(c *zappy.Check) zappy.Result {
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	})
	reg("bigresult", func(c *zappy.Check) zappy.Result {
		return zappy.Up(strings.Repeat("x", 2<<20))
	})
	reg("spam", func(c *zappy.Check) zappy.Result {
		line := strings.Repeat("spam ", 20) + "\n"
		for i := 0; i < 20000; i++ {
			os.Stdout.WriteString(line)
		}
		return zappy.Up("spammed")
	})
	reg("badptr", func(c *zappy.Check) zappy.Result {
		rawOp(c.ID, 12, unsafe.Pointer(uintptr(0xfffffff0)), 64, nil, 0)
		return zappy.Up("host accepted a bad pointer")
	})
	// badindex: hands json_index bad ranges, documents that are not JSON
	// or too big to index, a buffer too small, then a good one; reports
	// the return codes, whether the small buffer was left alone, and the
	// good document's first record.
	reg("badindex", func(c *zappy.Check) zappy.Result {
		doc := []byte(`{"a":[1,"x"]}`)
		ix := make([]byte, 8*20)
		for i := range ix {
			ix[i] = 0xAA
		}
		huge := []byte("[" + strings.Repeat("0,", 1<<17) + "0]") // 2^17+2 values
		p, n := unsafe.Pointer(&doc[0]), int32(len(doc))
		bogus := unsafe.Pointer(uintptr(0xfffffff0))
		codes := []int32{
			rawJSONIndex(bogus, 64, unsafe.Pointer(&ix[0]), 8),               // document outside memory
			rawJSONIndex(p, n, bogus, 8),                                     // index outside memory
			rawJSONIndex(p, n, unsafe.Pointer(&ix[0]), -1),                   // 2^32-1 records: past any memory
			rawJSONIndex(p, n-1, unsafe.Pointer(&ix[0]), 8),                  // not JSON
			rawJSONIndex(p, 0, unsafe.Pointer(&ix[0]), 8),                    // empty: not JSON
			rawJSONIndex(unsafe.Pointer(&huge[0]), int32(len(huge)), nil, 0), // too many values to index
			rawJSONIndex(p, n, bogus, 0),                                     // no room asked for: the count only
			rawJSONIndex(p, n, unsafe.Pointer(&ix[0]), 2),                    // too small: the count only
		}
		untouched := strings.Count(string(ix), "\xAA") == len(ix)
		codes = append(codes, rawJSONIndex(p, n, unsafe.Pointer(&ix[0]), 8)) // written
		var parts []string
		for _, code := range codes {
			parts = append(parts, strconv.Itoa(int(code)))
		}
		r := zappy.Up("json_index: " + strings.Join(parts, " "))
		rec := []any{}
		for _, b := range ix[:20] {
			rec = append(rec, int(b))
		}
		r.Fields = map[string]any{"first_record": rec, "small_buffer_untouched": untouched}
		return r
	})
	// elsewhere: tries to reach a destination other than its target.
	reg("elsewhere", func(c *zappy.Check) zappy.Result {
		conn, err := c.DialTCP(c.Config.Get("other").Str(), nil)
		if err != nil {
			return zappy.Up("ignoring: " + err.Error())
		}
		conn.Close()
		return zappy.Up("reached elsewhere")
	}, "tcp")
	// nocap: uses a primitive its manifest did not ask for.
	reg("nocap", func(c *zappy.Check) zappy.Result {
		_, err := c.UDP(c.Target, []byte("x"), zappy.UDPOptions{})
		return zappy.Up("udp said: " + errString(err))
	})
	// events: reports config.events (a list of {title, message, key}) and
	// then config.count generated ones ("E0", "E1", ...), with status
	// config.status (default up) and the input's notify pacing as fields.
	reg("events", func(c *zappy.Check) zappy.Result {
		r := zappy.Up("events")
		switch c.Config.Get("status").Str() {
		case "error":
			r = zappy.ErrorMsg("failed after the events")
		case "down":
			r = zappy.DownMsg("down with events")
		}
		for _, e := range c.Config.Get("events").Array() {
			r = r.Event(e.Get("title").Str(), e.Get("message").Str(), e.Get("key").Str())
		}
		for i := int64(0); i < c.Config.Get("count").Int(); i++ {
			n := strconv.FormatInt(i, 10)
			r = r.Event("E"+n, "event "+n, "k"+n)
		}
		return r.Field("notify_every_ms", c.NotifyEvery.Milliseconds()).Field("after_every_n", c.AfterEveryN)
	})
	// raw: reports config.raw, a result JSON text, as is (the SDK's own
	// report afterwards is refused by the host: the check is finished).
	reg("raw", func(c *zappy.Check) zappy.Result {
		b := []byte(c.Config.Get("raw").Str())
		rawDone(c.ID, unsafe.Pointer(unsafe.SliceData(b)), int32(len(b)))
		return zappy.Up("second report")
	})
	// ignore: parks forever on its own channel, ignoring the deadline.
	reg("ignore", func(c *zappy.Check) zappy.Result {
		<-make(chan struct{})
		return zappy.Up("unreachable")
	})
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func main() {}
