package testutil

import (
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// snmpClient connects a gosnmp client to d, as user u when u is not nil.
func snmpClient(t *testing.T, d *SNMPD, u *SNMPUser) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(d.Port), Community: d.Community,
		Version: gosnmp.Version2c, Timeout: time.Second, Retries: 1, MaxOids: gosnmp.MaxOids}
	if u != nil {
		auth := map[string]gosnmp.SnmpV3AuthProtocol{"": gosnmp.NoAuth, "MD5": gosnmp.MD5, "SHA": gosnmp.SHA}[u.AuthProtocol]
		priv := map[string]gosnmp.SnmpV3PrivProtocol{"": gosnmp.NoPriv, "DES": gosnmp.DES, "AES": gosnmp.AES}[u.PrivProtocol]
		flags := map[string]gosnmp.SnmpV3MsgFlags{"noauth": gosnmp.NoAuthNoPriv, "auth": gosnmp.AuthNoPriv, "priv": gosnmp.AuthPriv}[u.Level()]
		g.Version, g.SecurityModel, g.MsgFlags = gosnmp.Version3, gosnmp.UserSecurityModel, flags
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{UserName: u.Name,
			AuthenticationProtocol: auth, AuthenticationPassphrase: u.AuthPass,
			PrivacyProtocol: priv, PrivacyPassphrase: u.PrivPass}
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

func snmpGetString(t *testing.T, g *gosnmp.GoSNMP, oid string) string {
	t.Helper()
	pkt, err := g.Get([]string{oid})
	if err != nil {
		t.Fatalf("GET %s: %v", oid, err)
	}
	v := pkt.Variables[0]
	if v.Type != gosnmp.OctetString {
		t.Fatalf("GET %s: type %v", oid, v.Type)
	}
	return string(v.Value.([]byte))
}

func TestStartSNMPDDefaults(t *testing.T) {
	d := StartSNMPD(t, SNMPDOptions{})
	if !strings.HasPrefix(d.Community, "zappy-") || d.Addr != "127.0.0.1:"+strconv.Itoa(d.Port) {
		t.Errorf("community %q addr %q port %d", d.Community, d.Addr, d.Port)
	}
	g := snmpClient(t, d, nil)
	for oid, want := range map[string]string{
		".1.3.6.1.2.1.1.4.0": "tests@zappy.invalid",
		".1.3.6.1.2.1.1.5.0": "zappy-snmpd",
		".1.3.6.1.2.1.1.6.0": "zappy test lab",
	} {
		if got := snmpGetString(t, g, oid); got != want {
			t.Errorf("GET %s = %q, want %q", oid, got, want)
		}
	}
	for _, u := range []SNMPUser{SNMPNoAuthUser, SNMPAuthUser, SNMPPrivUser} {
		if got := snmpGetString(t, snmpClient(t, d, &u), ".1.3.6.1.2.1.1.5.0"); got != "zappy-snmpd" {
			t.Errorf("user %s: sysName %q", u.Name, got)
		}
	}
	conf, err := os.ReadFile(d.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rocommunity " + d.Community + " 127.0.0.1\n", "rouser zappy-priv priv\n",
		`createUser zappy-priv SHA "zappy-auth-pass" AES "zappy-priv-pass"` + "\n", "rouser zappy-noauth noauth\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(string(conf), "agentaddress") {
		t.Errorf("the address belongs on the command line only:\n%s", conf)
	}

	d.Stop()
	d.Stop() // idempotent
	g.Timeout, g.Retries = 200*time.Millisecond, 0
	if _, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"}); err == nil {
		t.Error("agent still answers after Stop")
	}
}

func TestStartSNMPDOptions(t *testing.T) {
	// A pass script, as ExtraConfig's documentation describes.
	script := filepath.Join(t.TempDir(), "pass.sh")
	err := os.WriteFile(script, []byte(`#!/bin/sh
case "$1 $2" in
"-g .1.3.6.1.4.1.99998.1.0"|"-n .1.3.6.1.4.1.99998"|"-n .1.3.6.1.4.1.99998.1") echo .1.3.6.1.4.1.99998.1.0; echo string; echo from pass;;
esac
`), 0o700)
	if err != nil {
		t.Fatal(err)
	}
	mac := "18 E8 29 45 F8 F7"
	fdb := ".1.3.6.1.2.1.17.7.1.2.2.1.2" // dot1qTpFdbPort
	custom := SNMPUser{Name: "legacy", AuthProtocol: "MD5", AuthPass: "md5-passphrase", PrivProtocol: "DES", PrivPass: "des-passphrase"}
	d := StartSNMPD(t, SNMPDOptions{
		Community:   "sesame",
		SysName:     "sw-core-1",
		SysLocation: "closet",
		SysContact:  "noc",
		Users:       []SNMPUser{custom},
		ExtraConfig: []string{"sysServices 72", "pass .1.3.6.1.4.1.99998 " + script},
		Tables: []SNMPTable{
			{Root: fdb, Objects: []SNMPObject{ // given out of order on purpose
				{OID: fdb + ".20.24.232.41.69.248.247", Type: "integer", Value: "3"},
				{OID: fdb + ".10.24.232.41.69.248.247", Type: "integer", Value: "7"},
				{OID: fdb + ".10.2.0.0.0.0.1", Type: "integer", Value: "12"},
			}},
			{Root: "1.3.6.1.4.1.99999", Objects: []SNMPObject{
				{OID: "1.3.6.1.4.1.99999.2", Type: "octet", Value: mac},
				{OID: "1.3.6.1.4.1.99999.1", Type: "string", Value: `quote " and \ backslash`},
			}},
		},
	})
	if d.Community != "sesame" || d.SysName != "sw-core-1" || len(d.Users) != 4 {
		t.Errorf("SNMPD = %+v", d)
	}
	g := snmpClient(t, d, nil)
	if got := snmpGetString(t, g, ".1.3.6.1.2.1.1.5.0"); got != "sw-core-1" {
		t.Errorf("sysName %q", got)
	}
	pkt, err := g.Get([]string{".1.3.6.1.2.1.1.7.0"})
	if err != nil || pkt.Variables[0].Value != 72 {
		t.Errorf("sysServices from ExtraConfig = %+v, %v", pkt, err)
	}
	if got := snmpGetString(t, g, ".1.3.6.1.4.1.99998.1.0"); got != "from pass" {
		t.Errorf("pass script answered %q", got)
	}
	if got := snmpGetString(t, snmpClient(t, d, &custom), ".1.3.6.1.2.1.1.6.0"); got != "closet" {
		t.Errorf("MD5/DES user: sysLocation %q", got)
	}

	walk, err := g.BulkWalkAll(fdb)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range walk {
		got = append(got, v.Name+"="+strconv.Itoa(v.Value.(int)))
	}
	want := []string{fdb + ".10.2.0.0.0.0.1=12", fdb + ".10.24.232.41.69.248.247=7", fdb + ".20.24.232.41.69.248.247=3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("FDB walk:\n got %v\nwant %v", got, want)
	}
	walk, err = g.WalkAll(".1.3.6.1.4.1.99999")
	if err != nil || len(walk) != 2 {
		t.Fatalf("table walk: %+v %v", walk, err)
	}
	if s := string(walk[0].Value.([]byte)); s != `quote " and \ backslash` {
		t.Errorf("string object = %q", s)
	}
	if b := walk[1].Value.([]byte); string(b) != "\x18\xe8\x29\x45\xf8\xf7" {
		t.Errorf("octet object = % x", b)
	}
}

func TestStartSNMPDRetriesBusyPort(t *testing.T) {
	busy, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.LocalAddr().(*net.UDPAddr).Port
	calls := 0
	pickUDPPort = func() (int, error) {
		calls++
		if calls == 1 {
			return busyPort, nil
		}
		return freeUDPPort()
	}
	defer func() { pickUDPPort = freeUDPPort }()

	d := StartSNMPD(t, SNMPDOptions{})
	if calls != 2 || d.Port == busyPort {
		t.Fatalf("%d ports picked, agent on %d (busy %d)", calls, d.Port, busyPort)
	}
	if !strings.Contains(d.Log(), "Error opening specified endpoint") {
		t.Errorf("log does not show the failed first start:\n%s", d.Log())
	}
	if got := snmpGetString(t, snmpClient(t, d, nil), ".1.3.6.1.2.1.1.5.0"); got != "zappy-snmpd" {
		t.Errorf("sysName %q", got)
	}
	// The failed first process must not confuse Stop.
	d.Stop()
	g := snmpClient(t, d, nil)
	g.Timeout, g.Retries = 200*time.Millisecond, 0
	if _, err := g.Get([]string{".1.3.6.1.2.1.1.5.0"}); err == nil {
		t.Error("agent still answers after Stop")
	}
}

func TestPassPersistAwkRejects(t *testing.T) {
	cases := map[string]SNMPTable{
		"outside root": {Root: ".1.3.6.1.4.1.99999", Objects: []SNMPObject{{OID: ".1.3.6.1.4.1.99998.1", Type: "integer", Value: "1"}}},
		"the root":     {Root: ".1.3.6.1.4.1.99999", Objects: []SNMPObject{{OID: ".1.3.6.1.4.1.99999", Type: "integer", Value: "1"}}},
		"duplicate": {Root: ".1.3.6.1.4.1.99999", Objects: []SNMPObject{
			{OID: ".1.3.6.1.4.1.99999.1", Type: "integer", Value: "1"}, {OID: "1.3.6.1.4.1.99999.1", Type: "integer", Value: "2"}}},
		"newline":  {Root: ".1.3.6.1.4.1.99999", Objects: []SNMPObject{{OID: ".1.3.6.1.4.1.99999.1", Type: "string", Value: "a\nb"}}},
		"name oid": {Root: "enterprises", Objects: nil},
	}
	for name, tbl := range cases {
		if _, err := passPersistAwk(tbl); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
