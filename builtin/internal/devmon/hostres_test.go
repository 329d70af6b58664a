package devmon

import (
	"math"
	"reflect"
	"testing"
)

func vbStr(oid, s string) Varbind { return Varbind{OID: oid, Type: "OctetString", Str: s} }
func vbOID(oid, s string) Varbind { return Varbind{OID: oid, Type: "ObjectIdentifier", Str: s} }
func vbCtr(oid string, bits int, v uint64) Varbind {
	typ := "Counter32"
	if bits == 64 {
		typ = "Counter64"
	}
	return Varbind{OID: oid, Type: typ, Num: v}
}

// storageRows builds hrStorageTable rows: index, type, descr, units, size, used.
func storageRows(rows ...[6]any) []Varbind {
	var out []Varbind
	for _, r := range rows {
		idx := "." + itoa(r[0].(int))
		out = append(out,
			vbOID(HrStorageType+idx, r[1].(string)), vbStr(HrStorageDescr+idx, r[2].(string)),
			vbInt(HrStorageUnits+idx, int64(r[3].(int))), vbInt(HrStorageSize+idx, int64(r[4].(int))), vbInt(HrStorageUsed+idx, int64(r[5].(int))))
	}
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// A net-snmp host as Debian's snmpd reports it.
var linuxStorage = storageRows(
	[6]any{1, HrStorageRAM, "Physical memory", 1024, 8_000_000, 6_000_000},
	[6]any{3, HrStorageVirtual, "Virtual memory", 1024, 10_000_000, 6_500_000},
	[6]any{6, ".1.3.6.1.2.1.25.2.1.1", "Memory buffers", 1024, 8_000_000, 500_000},
	[6]any{7, ".1.3.6.1.2.1.25.2.1.1", "Cached memory", 1024, 3_000_000, 2_500_000},
	[6]any{10, HrStorageVirtual, "Swap space", 1024, 2_000_000, 500_000},
	[6]any{31, HrStorageFixedDisk, "/", 4096, 1000, 734},
	[6]any{35, HrStorageFixedDisk, "/boot", 1024, 500, 100},
)

func TestStorage(t *testing.T) {
	st := ParseStorage(Index(linuxStorage, StorageColumns))
	if len(st) != 7 || st[0].Index != 1 || st[6].Descr != "/boot" {
		t.Fatalf("rows: %+v", st)
	}
	if v, ok := MemoryPct(st); !ok || v != 37.5 { // (6.0M - 0.5M - 2.5M) / 8M
		t.Errorf("MemoryPct = %v, %v", v, ok)
	}
	if v, ok := SwapUsed(st); !ok || v != 500_000*1024 {
		t.Errorf("SwapUsed = %v, %v", v, ok)
	}
	if v, ok := RootDiskPct(st); !ok || v != 73.4 {
		t.Errorf("RootDiskPct = %v, %v", v, ok)
	}
	if v := FlashBytes(st); v != 0 {
		t.Errorf("FlashBytes = %v", v)
	}
	switchStorage := ParseStorage(Index(storageRows(
		[6]any{1, HrStorageFlashMemory, "flash:", 1, 64_000_000, 12_000_000},
		[6]any{2, ".1.3.6.1.2.1.25.2.1.1", "nvram", 1, 512_000, 8_000},
		[6]any{3, HrStorageRAM, "Processor", 1, 0, 0},
	), StorageColumns))
	if v := FlashBytes(switchStorage); v != 12_008_000 {
		t.Errorf("switch FlashBytes = %v", v)
	}
	if _, ok := MemoryPct(switchStorage); ok {
		t.Error("a RAM row of size 0 gave a memory share")
	}
	if _, ok := RootDiskPct(switchStorage); ok {
		t.Error("a switch without / gave a disk share")
	}
	win := ParseStorage(Index(storageRows([6]any{1, HrStorageFixedDisk, `C:\ Label:  Serial Number 1234`, 4096, 200, 50}), StorageColumns))
	if v, ok := RootDiskPct(win); !ok || v != 25 {
		t.Errorf("windows C: = %v, %v", v, ok)
	}
}

func TestCPULoad(t *testing.T) {
	tab := Index([]Varbind{vbInt(HrProcessorLoad+".196608", 10), vbInt(HrProcessorLoad+".196609", 30)}, []string{HrProcessorLoad})
	if v, ok := CPULoad(tab); !ok || v != 20 {
		t.Errorf("CPULoad = %v, %v", v, ok)
	}
	if _, ok := CPULoad(Table{}); ok {
		t.Error("no processors gave a load")
	}
}

func TestParseDiskIO(t *testing.T) {
	var vbs []Varbind
	for i, d := range []struct {
		name string
		x    bool
		r, w uint64
	}{
		{"sda", true, 1000, 2000}, {"sda1", true, 900, 1900}, {"nvme0n1", true, 10, 20}, {"nvme0n1p1", true, 5, 5},
		{"loop0", true, 1, 1}, {"dm-0", true, 7, 7}, {"md0", true, 3, 3}, {"vdb", false, 40, 50}, {"sr0", true, 1, 1},
	} {
		idx := "." + itoa(i+1)
		vbs = append(vbs, vbStr(DiskIODevice+idx, d.name), vbCtr(DiskIORead+idx, 32, d.r), vbCtr(DiskIOWrite+idx, 32, d.w))
		if d.x {
			vbs = append(vbs, vbCtr(DiskIOReadX+idx, 64, d.r), vbCtr(DiskIOWriteX+idx, 64, d.w))
		}
	}
	got := ParseDiskIO(Index(vbs, DiskIOColumns))
	want := DiskIO{
		"sda":     {Counter{1000, 64}, Counter{2000, 64}},
		"nvme0n1": {Counter{10, 64}, Counter{20, 64}},
		"vdb":     {Counter{40, 32}, Counter{50, 32}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseDiskIO = %v", got)
	}
	if d := got.Devices(); !reflect.DeepEqual(d, []string{"nvme0n1", "sda", "vdb"}) {
		t.Errorf("Devices = %v", d)
	}
}

func TestVendors(t *testing.T) {
	scalars := func(vbs ...Varbind) map[string]Varbind {
		m := map[string]Varbind{}
		for _, v := range vbs {
			m[v.OID] = v
		}
		return m
	}
	tests := []struct {
		name         string
		sysOID       string
		vendor       Vendor
		scalars      map[string]Varbind
		vbs          []Varbind
		cpu, mem     float64
		cpuOK, memOK bool
	}{
		{"cisco", ".1.3.6.1.4.1.9.1.1208", Cisco, nil,
			[]Varbind{vbInt(CiscoCPU5min+".1", 12), vbInt(CiscoCPU5min+".2", 18),
				vbInt(CiscoMemPoolUsed+".1", 300), vbInt(CiscoMemPoolFree+".1", 700), vbInt(CiscoMemPoolUsed+".2", 100), vbInt(CiscoMemPoolFree+".2", 900)},
			15, 20, true, true},
		{"hp", ".1.3.6.1.4.1.11.2.3.7.11.181.9", HP, scalars(vbInt(HPCPU, 7)),
			[]Varbind{vbInt(HPMemTotal+".1", 1000), vbInt(HPMemFree+".1", 250)},
			7, 75, true, true},
		{"juniper prefers the routing engine", ".1.3.6.1.4.1.2636.1.1.1.2.29", Juniper, nil,
			[]Varbind{vbStr(JuniperDescr+".9.1.0.0", "Routing Engine"), vbInt(JuniperCPU+".9.1.0.0", 4), vbInt(JuniperBuffer+".9.1.0.0", 55),
				vbStr(JuniperDescr+".7.1.0.0", "FPC: EX4300"), vbInt(JuniperCPU+".7.1.0.0", 90), vbInt(JuniperBuffer+".7.1.0.0", 20)},
			4, 55, true, true},
		{"ubiquiti edgeswitch", ".1.3.6.1.4.1.4413", Ubiquiti,
			scalars(vbStr(UbntCPU, "    5 Secs ( 18.3727%)   60 Secs ( 15.0962%)  300 Secs ( 14.1127%)"), vbInt(UbntMemFree, 100_000), vbInt(UbntMemAvailable, 400_000)),
			nil, 15.0962, 75, true, true},
		{"cisco agent answering noSuchObject", ".1.3.6.1.4.1.9.1.1", Cisco, scalars(Varbind{OID: HPCPU, Type: "NoSuchObject"}), nil, 0, 0, false, false},
		{"net-snmp: no vendor", ".1.3.6.1.4.1.8072.3.2.10", "", nil, nil, 0, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := DetectVendor(tt.sysOID)
			if v != tt.vendor {
				t.Fatalf("DetectVendor = %q", v)
			}
			tab := Index(tt.vbs, append(VendorColumns(v), JuniperDescr))
			cpu, ok := VendorCPU(v, tt.scalars, tab)
			if ok != tt.cpuOK || math.Abs(cpu-tt.cpu) > 1e-9 {
				t.Errorf("cpu = %v, %v", cpu, ok)
			}
			mem, ok := VendorMemory(v, tt.scalars, tab)
			if ok != tt.memOK || math.Abs(mem-tt.mem) > 1e-9 {
				t.Errorf("mem = %v, %v", mem, ok)
			}
		})
	}
}
