package main

import (
	"strings"
	"time"

	"github.com/zappy-mon/zappy/builtin/internal/devmon"
	zappy "github.com/zappy-mon/zappy/sdk/go"
	"github.com/zappy-mon/zappy/sdk/go/zjson"
)

// The SNMP monitor types (APMonitor's ports, port and host). The logic is
// in builtin/internal/devmon; this file asks the agent through the host's
// snmp primitive and turns a poll into a result.

const (
	snmpMaxRepetitions = 50
	snmpMaxVarbinds    = 200_000 // a core switch's forwarding database
)

// snmpRequest is the monitor's agent and credentials, from its fields.
func snmpRequest(c *zappy.Check) zappy.SNMPRequest {
	cfg := c.Config
	r := zappy.SNMPRequest{
		Address:        c.Target,
		Version:        cfg.Get("version").StrOr("2c"),
		Community:      cfg.Get("community").StrOr("public"),
		Username:       cfg.Get("username").Str(),
		AuthProtocol:   cfg.Get("auth_protocol").Str(),
		AuthPassphrase: cfg.Get("auth_passphrase").Str(),
		PrivProtocol:   cfg.Get("priv_protocol").Str(),
		PrivPassphrase: cfg.Get("priv_passphrase").Str(),
		ContextName:    cfg.Get("context_name").Str(),
		Timeout:        2 * time.Second,
		Retries:        1,
		MaxRepetitions: snmpMaxRepetitions,
		MaxVarbinds:    snmpMaxVarbinds,
	}
	// Each request's timeout must leave the whole poll inside the check's
	// deadline.
	if rem := c.Remaining(); rem > 0 && rem < 4*time.Second {
		r.Timeout = max((rem / 4).Truncate(100*time.Millisecond), 100*time.Millisecond)
	}
	return r
}

func isV1(r zappy.SNMPRequest) bool { return r.Version == "1" || strings.EqualFold(r.Version, "v1") }

// snmpGet GETs oids and returns the answers by OID (missing objects
// included, as NoSuchObject/NoSuchInstance varbinds). Answers are matched
// to the OIDs asked by position, as the host matches them: an agent that
// names an answer differently (sysUpTime for sysUpTime.0) still answered
// that OID.
func snmpGet(c *zappy.Check, base zappy.SNMPRequest, oids []string) (map[string]devmon.Varbind, error) {
	out := map[string]devmon.Varbind{}
	for start := 0; start < len(oids); start += 60 { // the primitive's limit per GET
		req := base
		req.Op = "get"
		req.OIDs = oids[start:min(start+60, len(oids))]
		resp, err := c.SNMP(req)
		if err != nil {
			return nil, err
		}
		for i, vb := range resp.Varbinds {
			v := convertVarbind(vb)
			if i < len(req.OIDs) {
				v.OID = req.OIDs[i]
			}
			out[v.OID] = v
		}
	}
	return out, nil
}

// snmpWalk walks every root (GETBULK on v2c and v3, GETNEXT on v1) into t,
// asking the host for columns: the roots are not repeated in every OID.
func snmpWalk(c *zappy.Check, base zappy.SNMPRequest, roots []string, t devmon.Table) error {
	req := base
	req.Op = "bulkwalk"
	req.OIDs = roots
	req.Columns = true
	resp, err := c.SNMP(req)
	if err != nil {
		return err
	}
	for _, col := range resp.Columns {
		if len(col.Index) == 0 {
			continue
		}
		rows := make(map[string]devmon.Varbind, len(col.Index))
		for i, idx := range col.Index {
			hex := ""
			if col.Hex != nil {
				hex = col.Hex[i]
			}
			rows[idx] = toVarbind("", col.TypeOf(i), col.Values[i], hex)
		}
		t[col.Root] = rows
	}
	return nil
}

func convertVarbind(vb zappy.Varbind) devmon.Varbind {
	return toVarbind(vb.OID, vb.Type, vb.Value, vb.Hex)
}

func toVarbind(oid, typ string, value zjson.Value, hex string) devmon.Varbind {
	v := devmon.Varbind{OID: oid, Type: typ, Hex: hex}
	switch typ {
	case "Integer":
		v.Int = value.Int()
		if v.Int >= 0 {
			v.Num = uint64(v.Int)
		}
	case "Counter32", "Counter64", "Gauge32", "TimeTicks", "Uinteger32":
		v.Num = value.Uint()
	default:
		v.Str = value.Str()
	}
	return v
}

// pacer is the monitor's notification pacing, for change notices.
func pacer(c *zappy.Check) devmon.Pacer {
	return devmon.Pacer{Every: c.NotifyEvery, N: c.AfterEveryN}
}

// pollResult turns a poll into the check's result.
func pollResult(p devmon.Poll) zappy.Result {
	r := zappy.Up(p.Message)
	if p.Down {
		r = r.FailMsg(p.Message)
	}
	r.Fields = p.Fields
	for _, m := range p.Metrics {
		r = r.Metric(m.Name, m.Value, m.Unit)
	}
	for _, e := range p.Events {
		r = r.Event(e.Title, e.Message, e.Key)
	}
	r.State = p.State
	return r
}

// checkPorts polls a switch or router: IF-MIB (fatal when unreadable), then
// the forwarding database, ARP, HOST-RESOURCES and vendor tables (their
// absence only leaves those figures out).
func checkPorts(c *zappy.Check) zappy.Result {
	prev := devmon.ParseState(c.State)
	req := snmpRequest(c)
	scalars, err := snmpGet(c, req, append([]string{devmon.SysUpTime, devmon.SysObjectID, devmon.TCPRetransSegs}, devmon.VendorScalars...))
	if err != nil {
		return zappy.Down(err)
	}
	// IF-MIB: status and 64-bit counters first; the 32-bit counters only
	// for an SNMPv1 agent or interfaces without 64-bit ones.
	table := devmon.Table{}
	ifRoots := append([]string{}, devmon.IfCoreColumns...)
	if !isV1(req) {
		ifRoots = append(ifRoots, devmon.IfHCColumns...)
	}
	if err := snmpWalk(c, req, ifRoots, table); err != nil {
		return zappy.Down(err)
	}
	if isV1(req) || devmon.NeedsIf32(table) {
		if err := snmpWalk(c, req, devmon.If32Columns, table); err != nil {
			return zappy.Down(err)
		}
	}
	vendor := devmon.DetectVendor(scalars[devmon.SysObjectID].Str)
	// The rest is optional: each table that cannot be read only leaves
	// its figures out, and the others still count.
	in := devmon.PortsInput{Scalars: scalars, Table: table, Pacer: pacer(c)}
	var missing []string
	fdbErr := walkFDB(c, req, table)
	in.FDBOK = fdbErr == nil
	if fdbErr != nil {
		missing = append(missing, "MAC table: "+fdbErr.Error())
	}
	arpErr := snmpWalk(c, req, devmon.ARPColumns, table)
	in.ARPOK = arpErr == nil
	if arpErr != nil {
		missing = append(missing, "ARP table: "+arpErr.Error())
	}
	sysRoots := append(append(append([]string{}, devmon.StorageColumns...), devmon.HrProcessorLoad), devmon.VendorColumns(vendor)...)
	if err := snmpWalk(c, req, sysRoots, table); err != nil {
		missing = append(missing, "CPU and memory tables: "+err.Error())
	}
	in.NowMS = time.Now().UnixMilli()
	p := devmon.PollPorts(prev, in)
	if len(missing) > 0 {
		p.Message += " (unavailable: " + strings.Join(missing, "; ") + ")"
		p.Fields["tables_error"] = strings.Join(missing, "; ")
	}
	return pollResult(p)
}

// walkFDB reads the learned MACs: Q-BRIDGE-MIB's table, or BRIDGE-MIB's
// when a switch without VLANs has no Q-BRIDGE one, and the bridge port to
// ifIndex map.
func walkFDB(c *zappy.Check, req zappy.SNMPRequest, table devmon.Table) error {
	if err := snmpWalk(c, req, []string{devmon.Dot1qTpFdbPort, devmon.Dot1qTpFdbStatus, devmon.Dot1dBasePortIfIndex}, table); err != nil {
		return err
	}
	if len(table[devmon.Dot1qTpFdbPort]) > 0 {
		return nil
	}
	return snmpWalk(c, req, []string{devmon.Dot1dTpFdbPort, devmon.Dot1dTpFdbStatus}, table)
}

// checkPort polls one switch port pinned to one MAC.
func checkPort(c *zappy.Check) zappy.Result {
	port := int(c.Config.Get("port").Int())
	mac, ok := devmon.NormalizeMAC(c.Config.Get("mac").Str())
	if !ok {
		return zappy.ErrorMsg("mac " + c.Config.Get("mac").Str() + " is not a MAC address (XX:XX:XX:XX:XX:XX)")
	}
	prev := devmon.ParseState(c.State)
	req := snmpRequest(c)
	scalars, err := snmpGet(c, req, devmon.PortScalars(port))
	if err != nil {
		return zappy.Down(err)
	}
	in := devmon.PortInput{NowMS: time.Now().UnixMilli(), Port: port, MAC: mac, AlwaysUp: c.Config.Get("always_up").BoolOr(false), Scalars: scalars}
	in.FDB = devmon.Table{}
	if err := walkFDB(c, req, in.FDB); err != nil {
		in.FDBError = err.Error()
	}
	return pollResult(devmon.PollPort(prev, in))
}

// checkHost polls a host's performance figures.
func checkHost(c *zappy.Check) zappy.Result {
	prev := devmon.ParseState(c.State)
	req := snmpRequest(c)
	scalars, err := snmpGet(c, req, devmon.HostScalars)
	if err != nil {
		return zappy.Down(err)
	}
	table := devmon.Table{}
	if err := snmpWalk(c, req, devmon.HostColumns, table); err != nil {
		return zappy.Down(err)
	}
	in := devmon.HostInput{NowMS: time.Now().UnixMilli(), Scalars: scalars, Table: table}
	return pollResult(devmon.PollHost(prev, in))
}

const snmpFieldsSchema = `"community":{"type":"string","description":"v1/v2c community (default public)"},
 "version":{"type":["string","integer"],"enum":["1","2c","3",1,3],"description":"SNMP version (default 2c)"},
 "username":{"type":"string"},"auth_protocol":{"type":"string"},"auth_passphrase":{"type":"string"},
 "priv_protocol":{"type":"string"},"priv_passphrase":{"type":"string"},"context_name":{"type":"string"}`

const portsSchema = `{"type":"object","properties":{` + snmpFieldsSchema + `,
 "percentile":{"type":"integer","minimum":1,"maximum":99}}}`

const portSchema = `{"type":"object","required":["port","mac"],"properties":{` + snmpFieldsSchema + `,
 "percentile":{"type":"integer","minimum":1,"maximum":99},
 "port":{"type":"integer","minimum":0,"description":"ifIndex of the port"},
 "mac":{"type":"string","description":"pinned MAC XX:XX:XX:XX:XX:XX"},
 "always_up":{"type":["boolean","string","integer"],"description":"alarm when the port is down or the MAC absent (default false)"}}}`

const hostSchema = `{"type":"object","properties":{` + snmpFieldsSchema + `}}`
