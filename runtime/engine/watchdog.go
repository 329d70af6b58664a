package engine

import (
	"fmt"
	"sync/atomic"
	"time"
)

// The watchdog stops instances stuck in a call into the guest after the
// checks that could bound the call have ended. A check's own timers stop
// an instance that runs past that check's deadline (run.onHardDeadline);
// but once a check has reported, nothing of it watches the instance any
// more, and a module that loops after zappy.done would hold the goroutine
// that called it (Module.Run's caller, when it drives the instance) or a
// blocking pool's slot for ever.

// watchEvery is how often the watchdog looks at every instance.
const watchEvery = time.Second

// maxCall bounds one call into a multiplexed instance, in nanoseconds: its
// exports must never block (sdk/ABI.md, section 3), so a call of 10 s is a
// loop. (Atomic: tests shorten it while the watchdog runs.)
var maxCall atomic.Int64

func init() { maxCall.Store(int64(10 * time.Second)) }

// watch runs until the engine closes.
func (e *Engine) watch() {
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for now := range t.C {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return
		}
		mods := append([]*Module(nil), e.modules...)
		e.mu.Unlock()
		for _, m := range mods {
			for _, in := range m.liveInstances() {
				if why := in.stuck(now); why != "" {
					m.log.Warn("stopping a module instance stuck in a call", "reason", why)
					in.kill(why)
				}
			}
		}
	}
}

func (m *Module) liveInstances() []*instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*instance, 0, len(m.instances))
	for in := range m.instances {
		out = append(out, in)
	}
	return out
}

// stuck says why the instance has been in one call for too long, or "".
// A blocking instance's call (zappy_check) may last until its check's hard
// deadline (callLimit); a multiplexed instance's, maxCall.
func (in *instance) stuck(now time.Time) string {
	if in.busyFrom.Load() == 0 || in.dead.Load() {
		return ""
	}
	busy := in.busyFor(now).Round(time.Millisecond)
	if in.mode == modeBlocking {
		if limit := in.callLimit.Load(); limit != 0 && now.UnixNano() > limit {
			return fmt.Sprintf("zappy_check was still running %s after its check's deadline and grace period (busy for %s: an endless loop?)",
				now.Sub(time.Unix(0, limit)).Round(time.Millisecond), busy)
		}
		return ""
	}
	if busy > time.Duration(maxCall.Load()) {
		return fmt.Sprintf("a call into the module has run for %s, where calls must return at once (an endless loop?)", busy)
	}
	return ""
}
