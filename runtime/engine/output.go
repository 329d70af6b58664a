package engine

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"time"
)

// output forwards what a module writes to stdout and stderr to the log, one
// record per line, within a byte budget per minute; a small tail is kept to
// explain crashes ("fatal error: out of memory").
type output struct {
	log      *slog.Logger
	perMin   int
	mu       sync.Mutex
	window   time.Time
	used     int
	dropped  int
	warned   bool
	tailBuf  []byte
	partials map[string][]byte
}

const tailSize = 8 << 10

func newOutput(log *slog.Logger, perMinute int) *output {
	return &output{log: log, perMin: perMinute, partials: map[string][]byte{}}
}

func (o *output) writer(stream string) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		o.write(stream, p)
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (o *output) write(stream string, p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tailBuf = append(o.tailBuf, p...)
	if len(o.tailBuf) > tailSize {
		o.tailBuf = append(o.tailBuf[:0], o.tailBuf[len(o.tailBuf)-tailSize:]...)
	}
	if !o.spend(stream, len(p)) {
		return
	}
	buf := append(o.partials[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		o.log.Info("module output", "stream", stream, "line", string(bytes.TrimRight(buf[:i], "\r")))
		buf = buf[i+1:]
	}
	if len(buf) > 4096 { // an endless line: flush it as is
		o.log.Info("module output", "stream", stream, "line", string(buf))
		buf = nil
	}
	o.partials[stream] = append([]byte(nil), buf...)
}

// allow reports whether n more bytes of stream (stdout, stderr, or the
// zappy.log lines) fit this minute's budget, which they then use.
func (o *output) allow(stream string, n int) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.spend(stream, n)
}

// spend is allow with o.mu held.
func (o *output) spend(stream string, n int) bool {
	now := time.Now()
	if now.Sub(o.window) >= time.Minute {
		if o.dropped > 0 {
			o.log.Warn("module output over its cap was dropped", "bytes", o.dropped, "cap_per_minute", o.perMin)
		}
		o.window, o.used, o.dropped, o.warned = now, 0, 0, false
	}
	if o.used+n > o.perMin {
		o.dropped += n
		if !o.warned {
			o.warned = true
			o.log.Warn("module output cap reached; dropping output for the rest of the minute", "stream", stream, "cap_per_minute", o.perMin)
		}
		return false
	}
	o.used += n
	return true
}

// tail returns the last bytes written, one line.
func (o *output) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := bytes.TrimSpace(o.tailBuf)
	if i := bytes.LastIndex(t, []byte("fatal error:")); i >= 0 {
		t = t[i:]
	} else if i := bytes.LastIndex(t, []byte("panic:")); i >= 0 {
		t = t[i:]
	} else if i := bytes.LastIndexByte(t, '\n'); i >= 0 && len(t)-i > 1 {
		t = t[i+1:]
	}
	if i := bytes.IndexByte(t, '\n'); i >= 0 {
		t = t[:i]
	}
	return string(t)
}
