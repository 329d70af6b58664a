package devmon

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPacerDelay(t *testing.T) {
	tests := []struct {
		p    Pacer
		k    int
		want time.Duration
	}{
		{Pacer{Every: 9 * time.Minute, N: 3}, 0, 0},
		{Pacer{Every: 9 * time.Minute, N: 3}, 1, 5 * time.Minute}, // 9·⅓·(2−⅓)
		{Pacer{Every: 9 * time.Minute, N: 3}, 2, 8 * time.Minute}, // 9·⅔·(2−⅔)
		{Pacer{Every: 9 * time.Minute, N: 3}, 3, 9 * time.Minute},
		{Pacer{Every: 9 * time.Minute, N: 3}, 7, 9 * time.Minute},
		{Pacer{Every: time.Minute, N: 1}, 1, time.Minute},
		{Pacer{}, 1, 10 * time.Minute}, // defaults: 600 s, N = 1
	}
	for _, tt := range tests {
		if got := tt.p.Delay(tt.k); got != tt.want {
			t.Errorf("%+v.Delay(%d) = %v, want %v", tt.p, tt.k, got, tt.want)
		}
	}
}

// TestPacerStep feeds one interface's status poll by poll (one poll a
// minute) and lists the notices that go out.
func TestPacerStep(t *testing.T) {
	up, down := IfStatus(1, 1), IfStatus(2, 1)
	tests := []struct {
		name  string
		p     Pacer
		polls []string // status at each minute
		want  string
	}{
		{"one change, at once", Pacer{Every: 10 * time.Minute, N: 1},
			[]string{up, up, down, down}, "m2: oper=down admin=up (was oper=up admin=up)"},
		{"a change held back and summarised", Pacer{Every: 10 * time.Minute, N: 1},
			[]string{up, down, up, down, down, down, down, down, down, down, down, down, down},
			// m1 notice; the changes at m2 and m3 are held until m11, when
			// the state (down) is what m1 reported: it flapped.
			"m1: oper=down admin=up (was oper=up admin=up); m11: oper=down admin=up again (flapped: 2 changes since the last notice)"},
		{"held change reported against the last notice", Pacer{Every: 10 * time.Minute, N: 1},
			[]string{up, down, up, up, up, up, up, up, up, up, up, up},
			"m1: oper=down admin=up (was oper=up admin=up); m11: oper=up admin=up (was oper=down admin=up)"},
		{"Bezier silence windows (N=3, X=9m): 5m, 8m, then 9m", Pacer{Every: 9 * time.Minute, N: 3},
			flip(up, down, 30),
			"m1: oper=down admin=up (was oper=up admin=up); m6: oper=up admin=up (was oper=down admin=up) after 5 changes; " +
				"m14: oper=up admin=up again (flapped: 8 changes since the last notice); m23: oper=down admin=up (was oper=up admin=up) after 9 changes"},
		{"a quiet interval starts a new burst", Pacer{Every: 3 * time.Minute, N: 3},
			[]string{up, down, down, down, down, down, up},
			"m1: oper=down admin=up (was oper=up admin=up); m6: oper=up admin=up (was oper=down admin=up)"},
		{"appear and disappear", Pacer{Every: time.Minute, N: 1},
			[]string{Absent, up, up, Absent, Absent}, "m1: appeared oper=up admin=up; m3: disappeared (was oper=up admin=up)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &Notice{Seen: tt.polls[0]}
			var got []string
			for i := 1; i < len(tt.polls); i++ {
				if due, was, changes := tt.p.Step(n, tt.polls[i-1], tt.polls[i], int64(i)*60_000); due {
					text := PortChangeText("X", was, tt.polls[i], changes)
					got = append(got, fmt.Sprintf("m%d: %s", i, strings.TrimPrefix(text, "X ")))
				}
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Errorf("got  %s\nwant %s", g, tt.want)
			}
		})
	}
}

func flip(a, b string, n int) []string {
	out := []string{a}
	for i := 1; i < n; i++ {
		if i%2 == 1 {
			out = append(out, b)
		} else {
			out = append(out, a)
		}
	}
	return out
}

func TestMACChangeText(t *testing.T) {
	tests := []struct {
		was, cur string
		changes  int
		want     string
	}{
		{"", "AA:BB:CC:DD:EE:FF", 1, "Gi0/1 MAC change appeared=[AA:BB:CC:DD:EE:FF]"},
		{"AA:BB:CC:DD:EE:FF", "", 1, "Gi0/1 MAC change disappeared=[AA:BB:CC:DD:EE:FF]"},
		{"11:11:11:11:11:11,AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF,CC:CC:CC:CC:CC:CC", 3,
			"Gi0/1 MAC change appeared=[CC:CC:CC:CC:CC:CC] disappeared=[11:11:11:11:11:11] after 3 changes"},
		{"AA:BB:CC:DD:EE:FF", "AA:BB:CC:DD:EE:FF", 2, "Gi0/1 MAC change: the same MACs again (2 changes since the last notice)"},
	}
	for _, tt := range tests {
		if got := MACChangeText("Gi0/1", tt.was, tt.cur, tt.changes); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}
