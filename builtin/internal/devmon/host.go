package devmon

import (
	"strconv"
	"strings"
)

// HostScalars are the OIDs a host monitor GETs.
var HostScalars = []string{SysUpTime, HrSystemUptime, SsRawContexts, SsRawInterrupts, SsRawSwapIn, SsRawSwapOut,
	MemTotalReal, MemAvailReal, MemBuffer, MemCached, MemTotalSwap, MemAvailSwap}

// HostColumns are the tables a host monitor walks.
var HostColumns = append(append(append([]string{}, StorageColumns...), HrProcessorLoad), DiskIOColumns...)

// HostInput is one poll of a host monitor.
type HostInput struct {
	NowMS   int64
	Scalars map[string]Varbind
	Table   Table
}

// PollHost reads a host's performance (HOST-RESOURCES-MIB and net-snmp's
// UCD-SNMP-MIB), the data sources of APMonitor's host charts: CPU and
// context switches, memory and swap I/O, disk reads and writes (with the
// root filesystem's use), swap used and interrupts.
func PollHost(prev *State, in HostInput) Poll {
	p := Poll{Fields: map[string]any{}}
	agentUptime := in.Scalars[SysUpTime].Num
	uptime := in.Scalars[HrSystemUptime].Num // the host's, not the agent's
	if uptime == 0 {
		uptime = agentUptime
	}
	storage := ParseStorage(in.Table)
	st := &State{AtMS: in.NowMS, Uptime: uptime, AgentUptime: agentUptime, Counters: map[string]Counter{}, DiskSpacePct: -1}
	p.State = st
	rb := newRateBase(prev, in.NowMS, uptime)
	// rate keeps counter c under name and returns its rate; cached marks
	// net-snmp's systemstats counters (ssRaw*), which read 0 until the
	// agent's cache has loaded (the first requests after snmpd starts):
	// kernel counters that do not reset without a reboot.
	rate := func(name string, c Counter, cached bool) (float64, bool) {
		if !c.OK() {
			return 0, false
		}
		st.Counters[name] = c
		if !rb.ok {
			return 0, false
		}
		old := prev.Counters[name]
		if cached && c.V == 0 && old.V != 0 {
			// The agent restarted and its cache is empty: unknown. No
			// baseline either (the next value starts a new one: the
			// last real one was taken at another time).
			delete(st.Counters, name)
			return 0, false
		}
		if cached && old.V == 0 && c.V != 0 && prev.AgentUptime < 6000 {
			// The 0 was the empty cache of an agent that had just
			// started, not a counter that began to move.
			return 0, false
		}
		return Rate(old, c, rb.dt, 0)
	}
	field := func(name string, v float64, unit string) {
		p.metric(name, v, unit)
		p.Fields[name] = v
	}
	var parts []string

	cpu, cpuOK := CPULoad(in.Table)
	if cpuOK {
		field("cpu_load", cpu, "%")
		parts = append(parts, "cpu "+pct(cpu))
	}
	mem, memOK := MemoryPct(storage)
	if !memOK {
		total, ok1 := in.Scalars[MemTotalReal].Number()
		avail, ok2 := in.Scalars[MemAvailReal].Number()
		if ok1 && ok2 && total > 0 {
			mem, memOK = clampPct(100*(total-avail)/total), true
		}
	}
	if memOK {
		field("memory_pct", mem, "%")
		parts = append(parts, "mem "+pct(mem))
	}
	swap, swapOK := SwapUsed(storage)
	if !swapOK {
		total, ok1 := in.Scalars[MemTotalSwap].Number()
		avail, ok2 := in.Scalars[MemAvailSwap].Number()
		if ok1 && ok2 {
			swap, swapOK = max(total-avail, 0)*1024, true
		}
	}
	if swapOK {
		field("swap_used", swap, "B")
		parts = append(parts, "swap "+Bytes(swap))
	}
	if disk, ok := RootDiskPct(storage); ok {
		field("disk_space_pct", disk, "%")
		st.DiskSpacePct = disk
		parts = append(parts, "/ "+strconv.FormatFloat(disk, 'f', 1, 64)+"% used")
	} else if prev != nil && prev.DiskSpacePct >= 0 {
		st.DiskSpacePct = prev.DiskSpacePct
	}

	var rates []string
	if v, ok := rate("context_switches", in.Scalars[SsRawContexts].Counter(), true); ok {
		field("context_switches", v, "/s")
		rates = append(rates, strconv.FormatFloat(v, 'f', 0, 64)+" context switches/s")
	}
	if v, ok := rate("interrupts", in.Scalars[SsRawInterrupts].Counter(), true); ok {
		field("interrupts", v, "/s")
		rates = append(rates, strconv.FormatFloat(v, 'f', 0, 64)+" interrupts/s")
	}
	swapIn, okIn := rate("swap_in", in.Scalars[SsRawSwapIn].Counter(), true)
	swapOut, okOut := rate("swap_out", in.Scalars[SsRawSwapOut].Counter(), true)
	if okIn && okOut {
		field("swap_io", swapIn+swapOut, "/s")
	}
	disks := ParseDiskIO(in.Table)
	read, write := 0.0, 0.0
	readOK, writeOK := len(disks) > 0, len(disks) > 0
	for _, dev := range disks.Devices() {
		c := disks[dev]
		r, ok1 := rate("disk:"+dev+":read", c.Read, false)
		w, ok2 := rate("disk:"+dev+":write", c.Write, false)
		read, write = read+r, write+w
		readOK, writeOK = readOK && ok1, writeOK && ok2
	}
	if readOK && writeOK {
		field("disk_read", read, "B/s")
		field("disk_write", write, "B/s")
		rates = append(rates, "disk read "+Bytes(read)+"/s, write "+Bytes(write)+"/s")
	}

	msg := strings.Join(parts, ", ")
	if msg == "" {
		msg = "no HOST-RESOURCES-MIB or UCD-SNMP-MIB data"
	}
	switch {
	case prev == nil:
		msg += "; rates from the next poll"
	case rb.rebooted:
		msg += "; the host restarted: rates from the next poll"
	case len(rates) > 0:
		msg += "; " + strings.Join(rates, ", ")
	}
	p.Fields["uptime_s"] = float64(uptime) / 100
	p.Message = msg
	return p
}
