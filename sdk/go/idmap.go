package zappy

// idMap maps int64 IDs (check IDs, operation tokens) to values: open
// addressing with linear probing in a power-of-two table, deletion by
// backward shift (no tombstones). Inside wasm Go's map hashes keys through
// its generic fallback and costs a few hundred nanoseconds per operation;
// IDs need only a multiply. The zero value is an empty map.
type idMap[V any] struct {
	keys []int64
	vals []V
	used []bool
	n    int
}

func (m *idMap[V]) home(k int64) int {
	return int((uint64(k)*0x9E3779B97F4A7C15)>>32) & (len(m.keys) - 1)
}

// find returns k's slot, or -1.
func (m *idMap[V]) find(k int64) int {
	if m.n == 0 {
		return -1
	}
	mask := len(m.keys) - 1
	for i := m.home(k); m.used[i]; i = (i + 1) & mask {
		if m.keys[i] == k {
			return i
		}
	}
	return -1
}

func (m *idMap[V]) get(k int64) (V, bool) {
	if i := m.find(k); i >= 0 {
		return m.vals[i], true
	}
	var zero V
	return zero, false
}

func (m *idMap[V]) set(k int64, v V) {
	if i := m.find(k); i >= 0 {
		m.vals[i] = v
		return
	}
	if 2*(m.n+1) > len(m.keys) {
		m.grow()
	}
	mask := len(m.keys) - 1
	i := m.home(k)
	for m.used[i] {
		i = (i + 1) & mask
	}
	m.keys[i], m.vals[i], m.used[i] = k, v, true
	m.n++
}

// take removes k and returns its value.
func (m *idMap[V]) take(k int64) (V, bool) {
	var zero V
	i := m.find(k)
	if i < 0 {
		return zero, false
	}
	v := m.vals[i]
	// Backward shift: move later entries of the probe run into the hole
	// unless their home slot lies cyclically in (hole, entry].
	mask := len(m.keys) - 1
	for j := (i + 1) & mask; m.used[j]; j = (j + 1) & mask {
		h := m.home(m.keys[j])
		if i <= j && (h <= i || h > j) || i > j && h <= i && h > j {
			m.keys[i], m.vals[i] = m.keys[j], m.vals[j]
			i = j
		}
	}
	m.keys[i], m.vals[i], m.used[i] = 0, zero, false
	m.n--
	return v, true
}

func (m *idMap[V]) len() int { return m.n }

func (m *idMap[V]) grow() {
	keys, vals, used := m.keys, m.vals, m.used
	size := max(16, 2*len(keys))
	m.keys, m.vals, m.used, m.n = make([]int64, size), make([]V, size), make([]bool, size), 0
	for i, ok := range used {
		if ok {
			m.set(keys[i], vals[i])
		}
	}
}
