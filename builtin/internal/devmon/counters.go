package devmon

// Counter is one sample of an SNMP counter. Bits is 32 (Counter32) or 64
// (Counter64); 0 means the agent did not have it.
type Counter struct {
	V    uint64
	Bits int
}

// OK reports whether the counter was sampled.
func (c Counter) OK() bool { return c.Bits != 0 }

// Delta is how far a counter advanced from prev to cur. A Counter32 that
// went down is taken to have wrapped past 2^32 when the wrapped advance is
// below 2^31: no counter plausibly moves half its range between two polls
// (interfaces fast enough to do so are read through their 64-bit counters).
// Any other decrease is a reset (an agent or interface restart), and so is a
// change of width; both give ok false rather than an absurd advance.
// wrapped reports that the advance went through the wrap.
func Delta(prev, cur Counter) (d uint64, wrapped, ok bool) {
	if !prev.OK() || !cur.OK() || prev.Bits != cur.Bits {
		return 0, false, false
	}
	if cur.V >= prev.V {
		return cur.V - prev.V, false, true
	}
	if cur.Bits == 32 && prev.V < 1<<32 && cur.V < 1<<32 {
		if w := (1<<32 - prev.V) + cur.V; w < 1<<31 {
			return w, true, true
		}
	}
	return 0, false, false
}

// Rate is the per-second advance of a counter over dt seconds. ok is false
// when there is no rate to give: a counter missing from either poll, a
// reset, or dt ≤ 0. A 32-bit decrease taken for a wrap is checked against
// max (when max > 0), the physical bound of the interface: a counter that
// was cleared without the agent saying so must not show as a burst of
// impossible traffic. Plain increases are not bounded, since speed figures
// are often nominal (a tunnel's "bandwidth") while its traffic is real.
func Rate(prev, cur Counter, dt, max float64) (float64, bool) {
	if dt <= 0 {
		return 0, false
	}
	d, wrapped, ok := Delta(prev, cur)
	if !ok {
		return 0, false
	}
	r := float64(d) / dt
	if wrapped && max > 0 && r > max {
		return 0, false
	}
	return r, true
}

// Rebooted reports whether an uptime (TimeTicks, hundredths of a second)
// went backwards between two polls dt seconds apart: the device or agent
// restarted and its counters started again. A TimeTicks value wraps after
// 497 days; a decrease that the wrap explains (the old value within dt of
// 2^32) is not a reboot.
func Rebooted(prev, cur uint64, dt float64) bool {
	if prev == 0 || cur >= prev {
		return false
	}
	slack := uint64(dt*100) + 100
	return !(prev > 1<<32-slack && cur < slack)
}
