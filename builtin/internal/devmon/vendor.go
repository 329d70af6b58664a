package devmon

import (
	"strconv"
	"strings"
)

// Vendor is a device family with its own CPU and memory OIDs.
type Vendor string

// The vendors whose MIBs are read before the HOST-RESOURCES-MIB fallback.
const (
	Cisco    Vendor = "cisco"
	HP       Vendor = "hp"
	Juniper  Vendor = "juniper"
	Ubiquiti Vendor = "ubiquiti"
)

// Vendor OIDs.
const (
	// CISCO-PROCESS-MIB cpmCPUTotalTable, CISCO-MEMORY-POOL-MIB.
	CiscoCPU5min     = ".1.3.6.1.4.1.9.9.109.1.1.1.1.8"
	CiscoMemPoolUsed = ".1.3.6.1.4.1.9.9.48.1.1.1.5"
	CiscoMemPoolFree = ".1.3.6.1.4.1.9.9.48.1.1.1.6"
	// HP ProCurve / Aruba: STATISTICS-MIB hpSwitchCpuStat, NETSWITCH-MIB hpLocalMemTable.
	HPCPU      = ".1.3.6.1.4.1.11.2.14.11.5.1.9.6.1.0"
	HPMemTotal = ".1.3.6.1.4.1.11.2.14.11.5.1.1.2.1.1.1.5"
	HPMemFree  = ".1.3.6.1.4.1.11.2.14.11.5.1.1.2.1.1.1.6"
	// JUNIPER-MIB jnxOperatingTable.
	JuniperDescr  = ".1.3.6.1.4.1.2636.3.1.13.1.5"
	JuniperCPU    = ".1.3.6.1.4.1.2636.3.1.13.1.8"
	JuniperBuffer = ".1.3.6.1.4.1.2636.3.1.13.1.11"
	// Ubiquiti EdgeSwitch / UniFi switches (FASTPATH SWITCHING-MIB).
	UbntCPU          = ".1.3.6.1.4.1.4413.1.1.1.1.4.9.0"
	UbntMemFree      = ".1.3.6.1.4.1.4413.1.1.1.1.4.1.0"
	UbntMemAvailable = ".1.3.6.1.4.1.4413.1.1.1.1.4.2.0"
)

// DetectVendor tells the vendor from sysObjectID ("" for others).
func DetectVendor(sysObjectID string) Vendor {
	for prefix, v := range map[string]Vendor{
		".1.3.6.1.4.1.9.": Cisco, ".1.3.6.1.4.1.11.": HP, ".1.3.6.1.4.1.2636.": Juniper,
		".1.3.6.1.4.1.4413.": Ubiquiti, ".1.3.6.1.4.1.41112.": Ubiquiti,
	} {
		if strings.HasPrefix(sysObjectID+".", prefix) || strings.HasPrefix(sysObjectID, prefix) {
			return v
		}
	}
	return ""
}

// VendorScalars are the vendor OIDs asked for with a GET (for every
// device: an agent without them answers noSuchObject).
var VendorScalars = []string{HPCPU, UbntCPU, UbntMemFree, UbntMemAvailable}

// VendorColumns are the vendor tables walked for v.
func VendorColumns(v Vendor) []string {
	switch v {
	case Cisco:
		return []string{CiscoCPU5min, CiscoMemPoolUsed, CiscoMemPoolFree}
	case HP:
		return []string{HPMemTotal, HPMemFree}
	case Juniper:
		return []string{JuniperDescr, JuniperCPU, JuniperBuffer}
	}
	return nil
}

// VendorCPU is the CPU load in percent from v's MIB; false when the agent
// does not answer it (the caller falls back to hrProcessorLoad).
func VendorCPU(v Vendor, scalars map[string]Varbind, t Table) (float64, bool) {
	switch v {
	case Cisco:
		return average(t[CiscoCPU5min])
	case HP:
		if n, ok := scalars[HPCPU].Number(); ok {
			return clampPct(n), true
		}
	case Juniper:
		return juniper(t, JuniperCPU)
	case Ubiquiti:
		return ubntCPU(scalars[UbntCPU].Str)
	}
	return 0, false
}

// VendorMemory is the memory use in percent from v's MIB.
func VendorMemory(v Vendor, scalars map[string]Varbind, t Table) (float64, bool) {
	switch v {
	case Cisco:
		return usedShare(sum(t[CiscoMemPoolUsed]), sum(t[CiscoMemPoolFree]), false)
	case HP:
		total, free := sum(t[HPMemTotal]), sum(t[HPMemFree])
		return usedShare(total-free, total, true)
	case Juniper:
		return juniper(t, JuniperBuffer)
	case Ubiquiti:
		free, ok1 := scalars[UbntMemFree].Number()
		total, ok2 := scalars[UbntMemAvailable].Number()
		if ok1 && ok2 {
			return usedShare(total-free, total, true)
		}
	}
	return 0, false
}

// usedShare is used/(used+other) (or used/other when other is the total)
// in percent.
func usedShare(used, other float64, otherIsTotal bool) (float64, bool) {
	total := used + other
	if otherIsTotal {
		total = other
	}
	if total <= 0 {
		return 0, false
	}
	return clampPct(100 * used / total), true
}

func sum(col map[string]Varbind) float64 {
	s := 0.0
	for _, vb := range col {
		if n, ok := vb.Number(); ok {
			s += n
		}
	}
	return s
}

func average(col map[string]Varbind) (float64, bool) {
	s, n := 0.0, 0
	for _, vb := range col {
		if v, ok := vb.Number(); ok {
			s += v
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return clampPct(s / float64(n)), true
}

// juniper reads a jnxOperatingTable column for the routing engines (rows
// whose description names one), or the busiest row when none does.
func juniper(t Table, col string) (float64, bool) {
	best, found := 0.0, false
	re := false
	for idx, vb := range t[col] {
		v, ok := vb.Number()
		if !ok {
			continue
		}
		isRE := strings.Contains(strings.ToLower(t[JuniperDescr][idx].Str), "routing engine")
		switch {
		case isRE && !re:
			best, found, re = v, true, true
		case isRE == re && v > best:
			best, found = v, true
		case !re && !found:
			best, found = v, true
		}
	}
	return clampPct(best), found
}

// ubntCPU reads FASTPATH's text ("    5 Secs ( 18.3727%)   60 Secs (
// 15.0962%)  300 Secs ( 14.1127%)"), preferring the 60-second figure.
// (Parsed by hand: regexp would add a third to the module's size.)
func ubntCPU(s string) (float64, bool) {
	best, bestWindow := 0.0, -1
	for {
		i := strings.Index(s, "Secs")
		if i < 0 {
			break
		}
		window, err1 := strconv.Atoi(lastField(s[:i]))
		rest := s[i+len("Secs"):]
		open, end := strings.Index(rest, "("), strings.Index(rest, "%")
		s = rest
		if err1 != nil || open < 0 || end < open {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest[open+1:end]), 64)
		if err != nil {
			continue
		}
		if bestWindow < 0 || window == 60 || (bestWindow != 60 && window > bestWindow) {
			best, bestWindow = v, window
		}
	}
	return clampPct(best), bestWindow >= 0
}

// lastField is the last space-separated word of s.
func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}
