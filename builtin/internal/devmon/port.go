package devmon

import (
	"strconv"
	"strings"
)

// PortScalars are the OIDs a port monitor GETs for ifIndex port: the
// interface's row and sysUpTime.
func PortScalars(port int) []string {
	idx := "." + strconv.Itoa(port)
	oids := []string{SysUpTime}
	for _, col := range append(append([]string{}, IfColumns...), IfXColumns...) {
		oids = append(oids, col+idx)
	}
	return oids
}

// PortInput is one poll of a port monitor.
type PortInput struct {
	NowMS    int64
	Port     int    // ifIndex
	MAC      string // the pinned MAC, normalized (NormalizeMAC)
	AlwaysUp bool
	Scalars  map[string]Varbind // PortScalars' answers
	FDB      Table              // the walked FDB columns (FDBColumns)
	FDBError string             // why the FDB could not be read ("" when it was)
}

// PollPort applies APMonitor's alarm table to one switch port pinned to
// one MAC:
//
//	condition                    always_up: true   always_up: false
//	port oper ≠ up               alarm             no alarm
//	pinned MAC absent            alarm             no alarm
//	another MAC on the port      alarm             alarm
//	all clear                    recovery          recovery
//
// A MAC table that cannot be read is not fatal: the MACs are unknown,
// which only alarms with always_up (the pinned MAC is absent). A port the
// agent does not have is an alarm either way: nothing can be pinned there.
func PollPort(prev *State, in PortInput) Poll {
	p := Poll{Fields: map[string]any{}}
	uptime := in.Scalars[SysUpTime].Num
	var vbs []Varbind
	for _, v := range in.Scalars {
		vbs = append(vbs, v)
	}
	ifaces := ParseInterfaces(Index(vbs, append(append([]string{}, IfColumns...), IfXColumns...)))
	st := &State{AtMS: in.NowMS, Uptime: uptime, DiskSpacePct: -1}
	p.State = st
	name := "port ifIndex=" + strconv.Itoa(in.Port)
	p.Fields["port"] = in.Port
	p.Fields["pinned_mac"] = in.MAC
	p.Fields["always_up"] = in.AlwaysUp
	if len(ifaces) != 1 || ifaces[0].Index != in.Port || ifaces[0].Oper == 0 {
		p.Down = true
		p.Message = name + " does not exist on the agent (no ifOperStatus." + strconv.Itoa(in.Port) + ")"
		if prev != nil {
			p.State = prev // the last sample stays the baseline, with its time
		}
		return p
	}
	i := ifaces[0]
	var macs []string
	if in.FDBError == "" {
		macs = ParseFDB(in.FDB).MACs[in.Port]
	}
	present := false
	var others []string
	for _, m := range macs {
		if m == in.MAC {
			present = true
		} else {
			others = append(others, m)
		}
	}
	st.Port = &IfState{Name: i.Label(), Oper: i.Oper, Admin: i.Admin, MACs: append([]string{}, macs...), MACCount: len(macs), Counters: i.Counters}
	p.Fields["name"] = i.Label()
	p.Fields["oper"] = OperName(i.Oper)
	p.Fields["admin"] = AdminName(i.Admin)
	p.Fields["macs"] = st.Port.MACs
	p.Fields["pinned_present"] = present
	p.Fields["other_macs"] = append([]string{}, others...)

	// The alarm table.
	var alarms []string
	if in.AlwaysUp && i.Oper != 1 {
		alarms = append(alarms, name+" "+in.MAC+" is "+OperName(i.Oper)+" (admin="+AdminName(i.Admin)+")")
	}
	if in.AlwaysUp && !present && i.Oper == 1 {
		alarms = append(alarms, name+" pinned MAC "+in.MAC+" absent")
	}
	if len(others) > 0 {
		alarms = append(alarms, name+" wrong MAC "+strings.Join(others, ", ")+" present (pinned "+in.MAC+")")
	}
	switch {
	case len(alarms) > 0:
		p.Down = true
		p.Message = strings.Join(alarms, "; ")
	case i.Oper != 1:
		p.Message = name + " (" + i.Label() + ") is " + OperName(i.Oper) + " (admin=" + AdminName(i.Admin) + "); no alarm (always_up: false)"
	case present:
		p.Message = name + " (" + i.Label() + ") is up with " + in.MAC
	default:
		p.Message = name + " (" + i.Label() + ") is up, " + in.MAC + " not seen; no alarm (always_up: false)"
	}
	if in.FDBError != "" {
		p.Message += " (MAC table unavailable: " + in.FDBError + ")"
		p.Fields["fdb_error"] = in.FDBError
	}

	rb := newRateBase(prev, in.NowMS, uptime)
	if rb.ok && prev.Port != nil {
		r := InterfaceRates(prev.Port.Counters, i.Counters, rb.dt, i.SpeedBPS)
		idx := strconv.Itoa(in.Port)
		if r.Has["in_bytes"] {
			p.metric("if"+idx+"_in", r.InBytes, "B/s")
		}
		if r.Has["out_bytes"] {
			p.metric("if"+idx+"_out", r.OutBytes, "B/s")
		}
		var s sums
		s.add(r)
		s.record(&p)
	}
	return p
}
