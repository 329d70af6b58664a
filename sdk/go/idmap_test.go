package zappy

import (
	"math/rand/v2"
	"testing"
)

// TestIDMap runs random operations on an idMap and a Go map side by side,
// with keys drawn from small ranges (long probe runs, wrap-around) and
// from the extremes of int64.
func TestIDMap(t *testing.T) {
	for _, keys := range []func(r *rand.Rand) int64{
		func(r *rand.Rand) int64 { return int64(r.IntN(40)) },
		func(r *rand.Rand) int64 { return int64(r.IntN(5000)) - 2500 },
		func(r *rand.Rand) int64 { return int64(r.Uint64()) },
		func(r *rand.Rand) int64 { return int64(r.IntN(64)) << 32 },
	} {
		r := rand.New(rand.NewPCG(7, 9))
		var m idMap[int]
		ref := map[int64]int{}
		for step := range 200000 {
			k := keys(r)
			switch r.IntN(3) {
			case 0:
				m.set(k, step)
				ref[k] = step
			case 1:
				v, ok := m.take(k)
				w, wok := ref[k]
				delete(ref, k)
				if ok != wok || v != w {
					t.Fatalf("step %d: take(%d) = %d, %v; want %d, %v", step, k, v, ok, w, wok)
				}
			case 2:
				v, ok := m.get(k)
				if w, wok := ref[k]; ok != wok || v != w {
					t.Fatalf("step %d: get(%d) = %d, %v; want %d, %v", step, k, v, ok, w, wok)
				}
			}
			if m.len() != len(ref) {
				t.Fatalf("step %d: len %d, want %d", step, m.len(), len(ref))
			}
		}
		for k, w := range ref {
			if v, ok := m.get(k); !ok || v != w {
				t.Fatalf("final get(%d) = %d, %v; want %d", k, v, ok, w)
			}
		}
	}
}

// TestIDMapWrap deletes from probe runs that wrap around the end of the
// table, where backward shift must compare slots cyclically.
func TestIDMapWrap(t *testing.T) {
	var m idMap[int]
	m.set(-1, -1) // allocate the 16-slot table
	m.take(-1)
	homeOf := func(slot int) []int64 {
		var ks []int64
		for k := int64(1); len(ks) < 3; k++ {
			if m.home(k) == slot {
				ks = append(ks, k)
			}
		}
		return ks
	}
	last, first := homeOf(15), homeOf(0)
	// Slots: 15 <- last[0], 0 <- last[1], 1 <- first[0] (home 0, displaced),
	// 2 <- last[2].
	for i, k := range []int64{last[0], last[1], first[0], last[2]} {
		m.set(k, i)
	}
	for _, del := range []int64{last[0], last[1]} {
		if _, ok := m.take(del); !ok {
			t.Fatalf("take(%d) missed", del)
		}
	}
	for k, want := range map[int64]int{first[0]: 2, last[2]: 3} {
		if v, ok := m.get(k); !ok || v != want {
			t.Fatalf("after wrapped deletes get(%d) = %d, %v; want %d", k, v, ok, want)
		}
	}
}
