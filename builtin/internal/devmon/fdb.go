package devmon

import (
	"sort"
	"strconv"
)

// FDBColumns are the forwarding-database columns walked for learned MACs.
var FDBColumns = []string{Dot1qTpFdbPort, Dot1qTpFdbStatus, Dot1dTpFdbPort, Dot1dTpFdbStatus, Dot1dBasePortIfIndex}

// fdbLearned is dot1qTpFdbStatus / dot1dTpFdbStatus learned(3).
const fdbLearned = 3

// FDB is what a switch's forwarding database says.
type FDB struct {
	// MACs are the learned MAC addresses per ifIndex, upper case with
	// colons, sorted, without duplicates (one MAC in several VLANs counts
	// once per port).
	MACs map[int][]string
	// Entries counts the learned entries (per VLAN, as the table has them).
	Entries int
}

// ParseFDB reads learned MAC addresses from Q-BRIDGE-MIB's dot1qTpFdbTable
// (VLAN-aware switches: index fdbId.m1.m2.m3.m4.m5.m6), or from
// BRIDGE-MIB's dot1dTpFdbTable (index m1…m6) when the former is empty.
// Entries whose status column says other than learned(3) are skipped; an
// agent without a status column is trusted. Bridge port numbers are mapped
// to ifIndex through dot1dBasePortIfIndex, and taken as the ifIndex when
// that table is absent (many switches number both alike).
func ParseFDB(t Table) FDB {
	portCol, statusCol := Dot1qTpFdbPort, Dot1qTpFdbStatus
	if len(t[portCol]) == 0 {
		portCol, statusCol = Dot1dTpFdbPort, Dot1dTpFdbStatus
	}
	ifIndex := map[uint64]int{}
	for idx, vb := range t[Dot1dBasePortIfIndex] {
		port, err := strconv.ParseUint(idx, 10, 64)
		if n, ok := vb.Number(); err == nil && ok && n > 0 {
			ifIndex[port] = int(n)
		}
	}
	sets := map[int]map[string]bool{}
	fdb := FDB{MACs: map[int][]string{}}
	for idx, vb := range t[portCol] {
		a, ok := arcs(idx)
		if !ok || len(a) < 6 {
			continue
		}
		mac, ok := macFromArcs(a[len(a)-6:])
		if !ok {
			continue
		}
		if st, ok := t.Get(statusCol, idx); ok {
			if n, _ := st.Number(); n != fdbLearned {
				continue
			}
		}
		n, ok := vb.Number()
		if !ok || n <= 0 {
			continue // port 0: the MAC is known but not on a port (the switch itself)
		}
		port := uint64(n)
		ifx, mapped := ifIndex[port]
		if !mapped {
			ifx = int(port)
		}
		fdb.Entries++
		if sets[ifx] == nil {
			sets[ifx] = map[string]bool{}
		}
		sets[ifx][mac] = true
	}
	for ifx, set := range sets {
		list := make([]string, 0, len(set))
		for m := range set {
			list = append(list, m)
		}
		sort.Strings(list)
		fdb.MACs[ifx] = list
	}
	return fdb
}

func macFromArcs(a []uint64) (string, bool) {
	const digits = "0123456789ABCDEF"
	var b [17]byte
	for i, x := range a {
		if x > 255 {
			return "", false
		}
		b[3*i], b[3*i+1] = digits[x>>4], digits[x&15]
		if i < 5 {
			b[3*i+2] = ':'
		}
	}
	return string(b[:]), true
}

// ARPColumns are the neighbour-table columns counted for arp_count.
var ARPColumns = []string{IPNetToPhysicalPhysAddress, IPNetToMediaPhysAddress}

// ARPCount counts the ARP/neighbour entries: ipNetToPhysicalTable (which
// also holds IPv6 neighbours) when the agent has it, the older
// ipNetToMediaTable otherwise.
func ARPCount(t Table) int {
	if n := len(t[IPNetToPhysicalPhysAddress]); n > 0 {
		return n
	}
	return len(t[IPNetToMediaPhysAddress])
}

// NormalizeMAC writes a MAC address as the FDB does: upper-case hex pairs
// with colons. It accepts colons, dashes or dots as separators, or none.
func NormalizeMAC(s string) (string, bool) {
	var hexDigits []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			hexDigits = append(hexDigits, c)
		case c == ':' || c == '-' || c == '.':
		default:
			return "", false
		}
	}
	if len(hexDigits) != 12 {
		return "", false
	}
	var a [6]uint64
	for i := range a {
		v, err := strconv.ParseUint(string(hexDigits[2*i:2*i+2]), 16, 8)
		if err != nil {
			return "", false
		}
		a[i] = v
	}
	return macFromArcs(a[:])
}
