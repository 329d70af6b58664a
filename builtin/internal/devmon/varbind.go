// Package devmon is the device-monitoring logic of the built-in SNMP monitor
// types (ports, port and host): it reads IF-MIB, Q-BRIDGE-MIB, BRIDGE-MIB,
// IP-MIB, TCP-MIB, HOST-RESOURCES-MIB, UCD-SNMP-MIB and vendor MIB answers,
// turns counters into rates across polls (32-bit wraps, counter resets and
// reboots handled), and paces change notices per interface.
//
// It does no I/O: the built-in module asks the host for the varbinds and
// hands them here, so all of this is tested natively, without WebAssembly.
package devmon

import (
	"sort"
	"strconv"
	"strings"
)

// Varbind is one SNMP variable binding as the host's snmp operation returns
// it.
type Varbind struct {
	OID  string // numeric, leading dot
	Type string // Integer, Counter32, Counter64, Gauge32, TimeTicks, OctetString, ObjectIdentifier, NoSuchObject, ...
	Num  uint64 // Counter32, Counter64, Gauge32, TimeTicks, Uinteger32, and Integer values ≥ 0
	Int  int64  // Integer
	Str  string // OctetString text, ObjectIdentifier, IPAddress
	Hex  string // OctetString bytes as colon-hex ("18:e8:29:45:f8:f7")
}

// Missing reports whether the agent has no such object.
func (v Varbind) Missing() bool {
	switch v.Type {
	case "", "Null", "NoSuchObject", "NoSuchInstance", "EndOfMibView":
		return true
	}
	return false
}

// Counter is v as a counter sample; absent (Bits 0) unless v is a Counter32
// or Counter64.
func (v Varbind) Counter() Counter {
	switch v.Type {
	case "Counter32":
		return Counter{V: v.Num, Bits: 32}
	case "Counter64":
		return Counter{V: v.Num, Bits: 64}
	}
	return Counter{}
}

// Number is v as a number, for gauges, integers and time ticks.
func (v Varbind) Number() (float64, bool) {
	switch v.Type {
	case "Integer":
		return float64(v.Int), true
	case "Counter32", "Counter64", "Gauge32", "TimeTicks", "Uinteger32":
		return float64(v.Num), true
	}
	return 0, false
}

// Table holds walked varbinds by column: column root → row index (the OID
// suffix after the root, without a leading dot) → varbind.
type Table map[string]map[string]Varbind

// Index sorts varbinds into their columns. A varbind belongs to the longest
// root it is under; varbinds under no root are dropped. Walks return each
// root's varbinds together, so the root of the previous varbind is tried
// first.
func Index(vbs []Varbind, roots []string) Table {
	sorted := append([]string(nil), roots...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	prefixes := make([]string, len(sorted))
	for i, r := range sorted {
		prefixes[i] = r + "."
	}
	// under returns the index of the longest root above oid, or -1.
	under := func(oid string) int {
		for i, p := range prefixes {
			if strings.HasPrefix(oid, p) {
				return i
			}
		}
		return -1
	}
	hasNested := make([]bool, len(prefixes))
	for i := range prefixes {
		hasNested[i] = nested(prefixes, i)
	}
	which := make([]int, len(vbs))
	counts := make([]int, len(sorted))
	last := -1
	for k, vb := range vbs {
		which[k] = -1
		if vb.Missing() {
			continue
		}
		// The cached root is right unless a longer root also matches,
		// which under() settles; roots rarely nest, so check cheaply first.
		if last < 0 || !strings.HasPrefix(vb.OID, prefixes[last]) || hasNested[last] {
			last = under(vb.OID)
		}
		if last >= 0 {
			which[k] = last
			counts[last]++
		}
	}
	t := make(Table, len(sorted))
	for i, n := range counts {
		if n > 0 {
			t[sorted[i]] = make(map[string]Varbind, n)
		}
	}
	for k, vb := range vbs {
		if i := which[k]; i >= 0 {
			t[sorted[i]][vb.OID[len(prefixes[i]):]] = vb
		}
	}
	return t
}

// nested reports whether another root lies below roots[i] (so that a
// match on i may not be the longest).
func nested(prefixes []string, i int) bool {
	for j, p := range prefixes {
		if j != i && len(p) > len(prefixes[i]) && strings.HasPrefix(p, prefixes[i]) {
			return true
		}
	}
	return false
}

// Get is the varbind of column col at row idx.
func (t Table) Get(col, idx string) (Varbind, bool) {
	v, ok := t[col][idx]
	return v, ok
}

// Rows lists the row indexes of column col, in OID order.
func (t Table) Rows(col string) []string {
	rows := make([]string, 0, len(t[col]))
	for idx := range t[col] {
		rows = append(rows, idx)
	}
	sort.Slice(rows, func(i, j int) bool { return CompareOIDs(rows[i], rows[j]) < 0 })
	return rows
}

// CompareOIDs orders dotted OIDs arc by arc, numerically.
func CompareOIDs(a, b string) int {
	a, b = strings.TrimPrefix(a, "."), strings.TrimPrefix(b, ".")
	for a != "" && b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		xi, _ := strconv.ParseUint(x, 10, 64)
		yi, _ := strconv.ParseUint(y, 10, 64)
		switch {
		case xi < yi:
			return -1
		case xi > yi:
			return 1
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// arcs parses a dotted OID suffix into its arcs; false when one is not a
// number.
func arcs(s string) ([]uint64, bool) {
	parts := strings.Split(strings.TrimPrefix(s, "."), ".")
	out := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}
