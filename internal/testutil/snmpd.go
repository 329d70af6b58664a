package testutil

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// SNMPUser is an SNMPv3 USM user of the test agent. Protocols are spelled
// as snmpd's createUser expects them (MD5, SHA, SHA-224, SHA-256, SHA-384,
// SHA-512; DES, AES, AES-192, AES-256). No AuthProtocol makes a
// noAuthNoPriv user, no PrivProtocol an authNoPriv user. Passphrases must be
// at least 8 characters (snmpd refuses shorter ones).
type SNMPUser struct {
	Name         string
	AuthProtocol string
	AuthPass     string
	PrivProtocol string
	PrivPass     string
}

// Level is the minimum security level snmpd's rouser line grants the user:
// "noauth", "auth" or "priv".
func (u SNMPUser) Level() string {
	switch {
	case u.AuthProtocol == "":
		return "noauth"
	case u.PrivProtocol == "":
		return "auth"
	}
	return "priv"
}

// The SNMPv3 users every test agent has, so that tests need no setup to try
// each security level.
var (
	SNMPPrivUser   = SNMPUser{Name: "zappy-priv", AuthProtocol: "SHA", AuthPass: "zappy-auth-pass", PrivProtocol: "AES", PrivPass: "zappy-priv-pass"}
	SNMPAuthUser   = SNMPUser{Name: "zappy-auth", AuthProtocol: "SHA", AuthPass: "zappy-auth-pass"}
	SNMPNoAuthUser = SNMPUser{Name: "zappy-noauth"}
)

// SNMPObject is one object of an SNMPTable, in the words of snmpd's
// pass_persist protocol.
type SNMPObject struct {
	OID string // numeric, leading dot optional
	// Type is integer, unsigned, gauge, counter, counter64, timeticks,
	// ipaddress, objectid, string, octet or opaque.
	Type string
	// Value is decimal for numbers, dotted for ipaddress and objectid,
	// text for string, and space-separated hex bytes ("18 E8 29 45 F8 F7")
	// for octet and opaque. No newlines.
	Value string
}

// SNMPTable is a fixed set of objects under Root that the test agent serves
// through a generated pass_persist script (an awk program), for MIBs the
// machine does not have, e.g. a Q-BRIDGE FDB:
//
//	testutil.SNMPTable{Root: ".1.3.6.1.2.1.17.7.1.2.2.1.2", Objects: []testutil.SNMPObject{
//		// dot1qTpFdbPort.<vlan>.<mac as 6 decimals> = bridge port
//		{OID: ".1.3.6.1.2.1.17.7.1.2.2.1.2.10.24.232.41.69.248.247", Type: "integer", Value: "7"},
//	}}
//
// Objects may be given in any order; GETNEXT and walks see them sorted.
type SNMPTable struct {
	Root    string
	Objects []SNMPObject
}

// SNMPDOptions configures StartSNMPD. The zero value is useful: a random
// community, the three standard v3 users, sysName "zappy-snmpd".
type SNMPDOptions struct {
	// Community is the read-only v1/v2c community, allowed from 127.0.0.1;
	// empty means a random "zappy-…" name.
	Community string
	// Users are added to SNMPPrivUser, SNMPAuthUser and SNMPNoAuthUser.
	Users []SNMPUser
	// SysName, SysLocation, SysContact set the system group (defaults
	// "zappy-snmpd", "zappy test lab", "tests@zappy.invalid").
	SysName, SysLocation, SysContact string
	// Tables are served through generated pass_persist scripts.
	Tables []SNMPTable
	// ExtraConfig lines are appended verbatim to snmpd.conf. To serve your
	// own script, add "pass_persist .1.3.6.1.4.1.99999 /path/to/script"
	// (snmpd writes "PING", "get\nOID" or "getnext\nOID" lines to its stdin
	// and expects "PONG", or "OID\nTYPE\nVALUE", or "NONE" back, each
	// answer flushed) or "pass OID /path/to/script" (run once per request
	// with -g OID or -n OID). Scripts run as the agent's user and must be
	// executable.
	ExtraConfig []string
}

// SNMPD is a running Debian snmpd on 127.0.0.1, started by StartSNMPD and
// stopped when the test ends.
type SNMPD struct {
	Addr        string // "127.0.0.1:PORT"
	Port        int
	Community   string
	Users       []SNMPUser // the standard users first, then SNMPDOptions.Users
	SysName     string
	SysLocation string
	SysContact  string
	Dir         string // temporary directory holding config, pid, log and persistent state
	ConfigPath  string
	LogPath     string

	proc     *snmpdProc
	stopOnce sync.Once
}

// snmpdProc is one snmpd process; err is set before done is closed.
type snmpdProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartSNMPD starts snmpd on a free UDP port of 127.0.0.1, exactly as
// DESIGN.md describes (MIBS="" snmpd -f -Lo -C -c CONF -p PIDFILE
// --persistentDir=DIR udp:127.0.0.1:PORT, so that no system configuration is
// read), waits until it answers a GET of sysDescr.0 and registers its stop
// with t.Cleanup. The test is skipped when snmpd is not installed.
func StartSNMPD(t testing.TB, opts SNMPDOptions) *SNMPD {
	t.Helper()
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		if _, statErr := os.Stat("/usr/sbin/snmpd"); statErr != nil {
			t.Skip("snmpd not installed (Debian package snmpd): SNMP tests need a real agent")
		}
		bin = "/usr/sbin/snmpd"
	}
	d := &SNMPD{
		Community:   opts.Community,
		SysName:     orDefault(opts.SysName, "zappy-snmpd"),
		SysLocation: orDefault(opts.SysLocation, "zappy test lab"),
		SysContact:  orDefault(opts.SysContact, "tests@zappy.invalid"),
		Users:       append([]SNMPUser{SNMPPrivUser, SNMPAuthUser, SNMPNoAuthUser}, opts.Users...),
		Dir:         t.TempDir(),
	}
	if d.Community == "" {
		var b [6]byte
		rand.Read(b[:])
		d.Community = "zappy-" + hex.EncodeToString(b[:])
	}
	d.ConfigPath = filepath.Join(d.Dir, "snmpd.conf")
	d.LogPath = filepath.Join(d.Dir, "snmpd.log")
	persist := filepath.Join(d.Dir, "persist")
	if err := os.Mkdir(persist, 0o700); err != nil {
		t.Fatal(err)
	}
	conf, err := d.config(opts)
	if err != nil {
		t.Fatalf("snmpd config: %v", err)
	}
	if err := os.WriteFile(d.ConfigPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	// A port found free may be taken before snmpd binds it: retry on
	// another port when snmpd exits at start-up with a bind error.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := pickUDPPort()
		if err != nil {
			t.Fatalf("snmpd: no free UDP port: %v", err)
		}
		err = d.start(bin, port, persist)
		if err == nil {
			t.Cleanup(d.Stop)
			return d
		}
		lastErr = err
		if !errors.Is(err, errBind) {
			break
		}
		t.Logf("snmpd: %v; trying another port", err)
	}
	t.Fatalf("snmpd did not start: %v\n--- snmpd log ---\n%s", lastErr, d.Log())
	return nil
}

var errBind = errors.New("could not bind its port")

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// config renders snmpd.conf.
func (d *SNMPD) config(opts SNMPDOptions) (string, error) {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	for _, s := range []string{d.Community, d.SysName, d.SysLocation, d.SysContact} {
		if strings.ContainsAny(s, "\n\r\"") {
			return "", fmt.Errorf("%q: no quotes or newlines allowed", s)
		}
	}
	line("# written by testutil.StartSNMPD")
	line("dontLogTCPWrappersConnects yes")
	line("rocommunity %s 127.0.0.1", d.Community)
	line("sysName %s", d.SysName)
	line("sysLocation %s", d.SysLocation)
	line("sysContact %s", d.SysContact)
	for _, u := range d.Users {
		if u.Name == "" || strings.ContainsAny(u.Name, " \t\n\r\"") || strings.ContainsAny(u.AuthPass+u.PrivPass, "\n\r\"") {
			return "", fmt.Errorf("user %q: empty name, or quotes/newlines in name or passphrases", u.Name)
		}
		switch u.Level() {
		case "noauth":
			line("createUser %s", u.Name)
		case "auth":
			line("createUser %s %s \"%s\"", u.Name, u.AuthProtocol, u.AuthPass)
		default:
			line("createUser %s %s \"%s\" %s \"%s\"", u.Name, u.AuthProtocol, u.AuthPass, u.PrivProtocol, u.PrivPass)
		}
		line("rouser %s %s", u.Name, u.Level())
	}
	if len(opts.Tables) > 0 {
		awk, awkArgs, err := findAwk()
		if err != nil {
			return "", err
		}
		for i, tbl := range opts.Tables {
			script, err := passPersistAwk(tbl)
			if err != nil {
				return "", fmt.Errorf("table %d (%s): %w", i, tbl.Root, err)
			}
			path := filepath.Join(d.Dir, fmt.Sprintf("table%d.awk", i))
			if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
				return "", err
			}
			root, _ := dottedOID(tbl.Root)
			line("pass_persist %s %s %s-f %s", root, awk, awkArgs, path)
		}
	}
	for _, l := range opts.ExtraConfig {
		line("%s", l)
	}
	return b.String(), nil
}

// findAwk returns an awk and the arguments that make it read and answer line
// by line (mawk buffers its input on pipes unless told otherwise).
func findAwk() (string, string, error) {
	if p, err := exec.LookPath("mawk"); err == nil {
		return p, "-W interactive ", nil
	}
	if p, err := exec.LookPath("gawk"); err == nil {
		return p, "", nil
	}
	if p, err := exec.LookPath("awk"); err == nil {
		return p, "", nil
	}
	return "", "", errors.New("no awk found to serve SNMP tables")
}

// dottedOID validates a numeric OID and gives it a leading dot.
func dottedOID(s string) (string, error) {
	o := strings.TrimPrefix(strings.TrimSpace(s), ".")
	if o == "" {
		return "", fmt.Errorf("empty OID")
	}
	for _, a := range strings.Split(o, ".") {
		if _, err := strconv.ParseUint(a, 10, 32); err != nil {
			return "", fmt.Errorf("OID %q is not numeric", s)
		}
	}
	return "." + o, nil
}

func compareDotted(a, b string) int {
	x, y := strings.Split(a[1:], "."), strings.Split(b[1:], ".")
	for i := 0; i < len(x) && i < len(y); i++ {
		m, _ := strconv.ParseUint(x[i], 10, 32)
		n, _ := strconv.ParseUint(y[i], 10, 32)
		if m != n {
			if m < n {
				return -1
			}
			return 1
		}
	}
	return len(x) - len(y)
}

// passPersistAwk renders a pass_persist program serving tbl.
func passPersistAwk(tbl SNMPTable) (string, error) {
	root, err := dottedOID(tbl.Root)
	if err != nil {
		return "", err
	}
	objs := make([]SNMPObject, 0, len(tbl.Objects))
	for _, o := range tbl.Objects {
		oid, err := dottedOID(o.OID)
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(oid, root+".") {
			return "", fmt.Errorf("OID %s is not under %s", oid, root)
		}
		if strings.ContainsAny(o.Type+o.Value, "\n\r") {
			return "", fmt.Errorf("OID %s: newline in type or value", oid)
		}
		objs = append(objs, SNMPObject{OID: oid, Type: o.Type, Value: o.Value})
	}
	slices.SortFunc(objs, func(a, b SNMPObject) int { return compareDotted(a.OID, b.OID) })
	for i := 1; i < len(objs); i++ {
		if objs[i].OID == objs[i-1].OID {
			return "", fmt.Errorf("OID %s listed twice", objs[i].OID)
		}
	}
	var b strings.Builder
	b.WriteString("# pass_persist table written by testutil.StartSNMPD\nBEGIN {\n")
	for i, o := range objs {
		fmt.Fprintf(&b, "  oid[%d] = %s; typ[%d] = %s; val[%d] = %s\n", i+1, awkString(o.OID), i+1, awkString(o.Type), i+1, awkString(o.Value))
	}
	fmt.Fprintf(&b, "  n = %d; mode = \"\"\n}\n", len(objs))
	b.WriteString(`function cmp(a, b,   x, y, na, nb, i) {
  na = split(substr(a, 2), x, "."); nb = split(substr(b, 2), y, ".")
  for (i = 1; i <= na && i <= nb; i++) {
    if (x[i] + 0 < y[i] + 0) return -1
    if (x[i] + 0 > y[i] + 0) return 1
  }
  return (na < nb) ? -1 : (na > nb) ? 1 : 0
}
function reply(i) {
  if (i == 0) print "NONE"; else { print oid[i]; print typ[i]; print val[i] }
  fflush()
}
{
  if (mode == "get") { r = 0; for (i = 1; i <= n; i++) if (oid[i] == $0) r = i; reply(r); mode = ""; next }
  if (mode == "getnext") { r = 0; for (i = 1; i <= n; i++) if (cmp(oid[i], $0) > 0) { r = i; break }; reply(r); mode = ""; next }
  if (mode == "set") { mode = "setvalue"; next }
  if (mode == "setvalue") { print "not-writable"; fflush(); mode = ""; next }
  if ($0 == "PING") { print "PONG"; fflush(); next }
  if ($0 == "get" || $0 == "getnext" || $0 == "set") { mode = $0; next }
  if ($0 == "") exit 0
}
`)
	return b.String(), nil
}

// awkString quotes s as an awk string literal.
func awkString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// pickUDPPort finds a port for snmpd; a variable so that a test can hand
// out a busy one.
var pickUDPPort = freeUDPPort

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// start runs snmpd on port and waits until it answers.
func (d *SNMPD) start(bin string, port int, persist string) error {
	logf, err := os.OpenFile(d.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- starting on udp:127.0.0.1:%d ---\n", port)
	cmd := exec.Command(bin, "-f", "-Lo", "-C", "-c", d.ConfigPath,
		"-p", filepath.Join(d.Dir, "snmpd.pid"), "--persistentDir="+persist,
		fmt.Sprintf("udp:127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "MIBS=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	proc := &snmpdProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.done)
	}()
	d.proc = proc
	d.Port = port
	d.Addr = fmt.Sprintf("127.0.0.1:%d", port)

	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-proc.done:
			if strings.Contains(d.Log(), "Error opening specified endpoint") {
				return fmt.Errorf("port %d: %w (%v)", port, errBind, proc.err)
			}
			return fmt.Errorf("snmpd exited at start-up: %v", proc.err)
		default:
		}
		if d.answers() {
			return nil
		}
		if time.Now().After(deadline) {
			proc.stop()
			return fmt.Errorf("snmpd on port %d did not answer a GET of sysDescr.0 within 15s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answers reports whether the agent answers a v2c GET of sysDescr.0.
func (d *SNMPD) answers() bool {
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(d.Port), Community: d.Community,
		Version: gosnmp.Version2c, Timeout: 100 * time.Millisecond, Retries: 0}
	if err := g.Connect(); err != nil {
		return false
	}
	defer g.Conn.Close()
	pkt, err := g.Get([]string{".1.3.6.1.2.1.1.1.0"})
	return err == nil && len(pkt.Variables) == 1 && pkt.Variables[0].Type == gosnmp.OctetString
}

// Stop terminates the agent (SIGTERM, then SIGKILL after 5s) and waits for
// it. Later requests time out, which is how tests simulate an agent that
// went down. Safe to call more than once; t.Cleanup calls it too.
func (d *SNMPD) Stop() {
	d.stopOnce.Do(func() {
		if d.proc != nil {
			d.proc.stop()
		}
	})
}

func (p *snmpdProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Log returns what snmpd wrote to its log (the last 64 KiB).
func (d *SNMPD) Log() string {
	b, err := os.ReadFile(d.LogPath)
	if err != nil {
		return ""
	}
	if len(b) > 64<<10 {
		b = b[len(b)-64<<10:]
	}
	return string(b)
}
