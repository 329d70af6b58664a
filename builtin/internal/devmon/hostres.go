package devmon

import (
	"sort"
	"strconv"
	"strings"
)

// StorageColumns are the hrStorageTable columns walked.
var StorageColumns = []string{HrStorageType, HrStorageDescr, HrStorageUnits, HrStorageSize, HrStorageUsed}

// Storage is one row of HOST-RESOURCES-MIB's hrStorageTable.
type Storage struct {
	Index int
	Type  string // an hrStorageTypes OID, e.g. HrStorageRAM
	Descr string
	Units uint64 // bytes per allocation unit
	Size  uint64 // in units
	Used  uint64 // in units
}

// SizeBytes and UsedBytes are the row's size and use in bytes.
func (s Storage) SizeBytes() float64 { return float64(s.Size) * float64(s.Units) }
func (s Storage) UsedBytes() float64 { return float64(s.Used) * float64(s.Units) }

// ParseStorage reads hrStorageTable rows, ordered by index.
func ParseStorage(t Table) []Storage {
	var out []Storage
	for _, idx := range t.Rows(HrStorageDescr) {
		n, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		s := Storage{Index: n}
		if v, ok := t.Get(HrStorageType, idx); ok {
			s.Type = v.Str
		}
		s.Descr = t[HrStorageDescr][idx].Str
		num := func(col string) uint64 {
			v, _ := t.Get(col, idx)
			f, _ := v.Number()
			if f < 0 {
				return 0
			}
			return uint64(f)
		}
		s.Units, s.Size, s.Used = num(HrStorageUnits), num(HrStorageSize), num(HrStorageUsed)
		out = append(out, s)
	}
	return out
}

// MemoryPct is the share of physical memory in use, from hrStorageTable:
// the RAM row's use less the buffers and cache that net-snmp lists as rows
// of their own ("Memory buffers", "Cached memory"), which the kernel gives
// back on demand — the "used" of free(1). false when there is no RAM row.
func MemoryPct(st []Storage) (float64, bool) {
	var ram *Storage
	var reclaim float64
	for i := range st {
		s := &st[i]
		switch {
		case s.Type == HrStorageRAM && ram == nil:
			ram = s
		case strings.EqualFold(s.Descr, "Memory buffers"), strings.EqualFold(s.Descr, "Cached memory"):
			reclaim += s.UsedBytes()
		}
	}
	if ram == nil || ram.Size == 0 {
		return 0, false
	}
	used := max(ram.UsedBytes()-reclaim, 0)
	return clampPct(100 * used / ram.SizeBytes()), true
}

// SwapUsed is the swap in use in bytes: the virtual-memory row named like
// swap ("Swap space" on net-snmp); false when there is none.
func SwapUsed(st []Storage) (float64, bool) {
	for _, s := range st {
		if s.Type == HrStorageVirtual && strings.Contains(strings.ToLower(s.Descr), "swap") {
			return s.UsedBytes(), true
		}
	}
	return 0, false
}

// RootDiskPct is the use of the root filesystem in percent: the fixed-disk
// row whose description is "/", "root", "C:\" or "C:" (any case; Windows
// agents append a label: "C:\ Label:...").
func RootDiskPct(st []Storage) (float64, bool) {
	for _, s := range st {
		if s.Type != HrStorageFixedDisk && s.Type != "" || s.Size == 0 {
			continue
		}
		d := strings.ToLower(strings.TrimSpace(s.Descr))
		if d == "/" || d == "root" || d == "c:" || strings.HasPrefix(d, `c:\`) {
			return clampPct(100 * float64(s.Used) / float64(s.Size)), true
		}
	}
	return 0, false
}

// FlashBytes sums the bytes used on flash and NVRAM storage (a change in
// them on a switch is a configuration or firmware write: the tamper chart).
func FlashBytes(st []Storage) float64 {
	total := 0.0
	for _, s := range st {
		d := strings.ToLower(s.Descr)
		if s.Type == HrStorageFlashMemory || strings.Contains(d, "flash") || strings.Contains(d, "nvram") {
			total += s.UsedBytes()
		}
	}
	return total
}

// CPULoad is the average of hrProcessorLoad over the processors, in
// percent.
func CPULoad(t Table) (float64, bool) {
	sum, n := 0.0, 0
	for _, vb := range t[HrProcessorLoad] {
		if v, ok := vb.Number(); ok {
			sum += v
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	return clampPct(sum / float64(n)), true
}

// DiskIOColumns are the UCD-DISKIO-MIB columns walked for disk traffic.
var DiskIOColumns = []string{DiskIODevice, DiskIOReadX, DiskIOWriteX, DiskIORead, DiskIOWrite}

// DiskIO holds the byte counters of every whole disk, by device name.
type DiskIO map[string]DiskCounters

// DiskCounters are one device's read and written bytes.
type DiskCounters struct{ Read, Write Counter }

// ParseDiskIO reads the byte counters of the whole physical disks of
// diskIOTable (64-bit where the agent has them). Partitions (sda1,
// nvme0n1p2, mmcblk0p1 of a listed disk) and stacked or virtual devices
// (loop, ram, zram, dm-, md, sr, fd) are left out, so that the sums count
// each byte once.
func ParseDiskIO(t Table) DiskIO {
	names := map[string]string{} // index → device
	all := map[string]bool{}
	for idx, vb := range t[DiskIODevice] {
		names[idx] = vb.Str
		all[vb.Str] = true
	}
	out := DiskIO{}
	for idx, dev := range names {
		if skipDisk(dev, all) {
			continue
		}
		pick := func(x, y string) Counter {
			if v, ok := t.Get(x, idx); ok && v.Counter().OK() {
				return v.Counter()
			}
			v, _ := t.Get(y, idx)
			return v.Counter()
		}
		out[dev] = DiskCounters{Read: pick(DiskIOReadX, DiskIORead), Write: pick(DiskIOWriteX, DiskIOWrite)}
	}
	return out
}

func skipDisk(dev string, all map[string]bool) bool {
	for _, p := range []string{"loop", "ram", "zram", "dm-", "md", "sr", "fd"} {
		if strings.HasPrefix(dev, p) {
			return true
		}
	}
	// A partition: a listed device's name followed by digits, or by "p"
	// and digits (nvme0n1p1, mmcblk0p1).
	trimmed := strings.TrimRight(dev, "0123456789")
	if trimmed == dev {
		return false
	}
	if all[trimmed] && trimmed != "" {
		return true
	}
	if base, ok := strings.CutSuffix(trimmed, "p"); ok && all[base] {
		return true
	}
	return false
}

// Devices lists the disks in name order.
func (d DiskIO) Devices() []string {
	out := make([]string, 0, len(d))
	for n := range d {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func clampPct(v float64) float64 { return min(max(v, 0), 100) }
