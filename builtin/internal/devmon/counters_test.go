package devmon

import "testing"

func TestDelta(t *testing.T) {
	c32 := func(v uint64) Counter { return Counter{V: v, Bits: 32} }
	c64 := func(v uint64) Counter { return Counter{V: v, Bits: 64} }
	tests := []struct {
		name      string
		prev, cur Counter
		want      uint64
		ok        bool
	}{
		{"advance", c32(100), c32(250), 150, true},
		{"no change", c64(7), c64(7), 0, true},
		{"32-bit wrap", c32(1<<32 - 100), c32(50), 150, true},
		{"32-bit wrap at the edge", c32(1<<32 - 1), c32(0), 1, true},
		{"32-bit reset, not a wrap", c32(1_000_000), c32(10), 0, false},
		{"32-bit drop of more than half the range", c32(1 << 31), c32(0), 0, false},
		{"64-bit decrease is a reset", c64(1 << 40), c64(5), 0, false},
		{"64-bit near the top still advances", c64(1<<64 - 10), c64(1<<64 - 1), 9, true},
		{"missing before", Counter{}, c32(5), 0, false},
		{"missing now", c32(5), Counter{}, 0, false},
		{"width changed (HC counters appeared)", c32(5), c64(9), 0, false},
	}
	for _, tt := range tests {
		got, wrapped, ok := Delta(tt.prev, tt.cur)
		if got != tt.want || ok != tt.ok || wrapped != (ok && tt.cur.V < tt.prev.V) {
			t.Errorf("%s: Delta(%v, %v) = %d, %v; want %d, %v", tt.name, tt.prev, tt.cur, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRate(t *testing.T) {
	c32 := func(v uint64) Counter { return Counter{V: v, Bits: 32} }
	tests := []struct {
		name      string
		prev, cur Counter
		dt, max   float64
		want      float64
		ok        bool
	}{
		{"bytes per second", c32(0), c32(10_000), 10, 0, 1000, true},
		{"within the bound", c32(0), c32(10_000), 10, 1000, 1000, true},
		{"an increase above a nominal speed is kept", c32(0), c32(10_000), 10, 999, 1000, true},
		{"wrap gives a sane rate", c32(1<<32 - 5000), c32(5000), 10, 0, 1000, true},
		{"wrap within the bound", c32(1<<32 - 5000), c32(5000), 10, 1000, 1000, true},
		{"a 'wrap' above the physical bound is a reset", c32(1<<32 - 5000), c32(5000), 10, 999, 0, false},
		{"zero interval", c32(0), c32(1), 0, 0, 0, false},
		{"negative interval (clock stepped back)", c32(0), c32(1), -3, 0, 0, false},
		{"reset", c32(9_000_000), c32(3), 10, 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := Rate(tt.prev, tt.cur, tt.dt, tt.max)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Rate = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRebooted(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur uint64
		dt        float64
		want      bool
	}{
		{"uptime grows", 1000, 2000, 10, false},
		{"first poll", 0, 5, 10, false},
		{"went back: rebooted", 500_000, 300, 10, true},
		{"TimeTicks wrap after 497 days", 1<<32 - 200, 500, 10, false},
		{"near the top but fell far: rebooted", 1<<32 - 200, 100_000, 10, true},
	}
	for _, tt := range tests {
		if got := Rebooted(tt.prev, tt.cur, tt.dt); got != tt.want {
			t.Errorf("%s: Rebooted(%d, %d) = %v", tt.name, tt.prev, tt.cur, got)
		}
	}
}
