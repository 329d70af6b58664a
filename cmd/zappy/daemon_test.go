package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	_ "modernc.org/sqlite"

	"github.com/zappy-mon/zappy/internal/testutil"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// zappyBin builds the zappy binary once per test run.
func zappyBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(cacheDir, "zappy-bin")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// receiver is a webhook endpoint on loopback that counts deliveries by
// Idempotency-Key and can be switched down (502).
type receiver struct {
	*httptest.Server
	down atomic.Bool
	mu   sync.Mutex
	keys map[string]int
	msgs []string
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{keys: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.keys[req.Header.Get("Idempotency-Key")]++
		r.msgs = append(r.msgs, string(body))
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() (keys map[string]int, msgs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys = map[string]int{}
	for k, v := range r.keys {
		keys[k] = v
	}
	return keys, append([]string(nil), r.msgs...)
}

func closedPort(t testing.TB) string { return testutil.ClosedPort(t, "tcp") }

// okServer is an HTTP server on loopback that answers "ok".
func okServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv
}

// siteFile writes yaml to site.yaml in a new temporary directory and
// returns its path and that of a state database beside it.
func siteFile(t testing.TB, yaml string) (cfg, statePath string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, filepath.Join(dir, "state.db")
}

// warmCache runs one check, so that the compilation cache is warm, as on
// any start but the first.
func warmCache(t testing.TB, typ, address string) {
	exec.Command(zappyBin(t), "--cache-dir", cacheDir, "check", "--type", typ, "--address", address).Run()
}

func TestValidateInitState(t *testing.T) {
	dir := t.TempDir()
	starter := filepath.Join(dir, "zappy.yaml")
	out, errOut, code := zappy(t, "init", starter)
	if code != 0 || !strings.Contains(out, "wrote "+starter) {
		t.Fatalf("init: %d %s %s", code, out, errOut)
	}
	if _, errOut, code := zappy(t, "init", starter); code != 1 || !strings.Contains(errOut, "exists (use --force to overwrite)") {
		t.Fatalf("init twice: %d %s", code, errOut)
	}
	out, errOut, code = zappy(t, "validate", starter)
	if code != 0 || !strings.Contains(out, "My Site") || !strings.Contains(out, "website") {
		t.Fatalf("validate starter: %d\n%s\n%s", code, out, errOut)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("site:\n  name: x\nmonitors:\n  - type: htp\n    name: a\n    address: http://x\n  - type: smtp\n    name: b\n    address: tcp://x:25\n    module: missing.wasm\n"), 0o644)
	_, errOut, code = zappy(t, "validate", bad)
	if code != 1 || !strings.Contains(errOut, bad+":4: monitor \"a\": type: unknown type \"htp\" (did you mean http?)") {
		t.Fatalf("validate bad: %d\n%s", code, errOut)
	}
	_, errOut, code = zappy(t, "state", starter)
	if code != 1 || !strings.Contains(errOut, "no state at") {
		t.Fatalf("state without state: %d %s", code, errOut)
	}
}

// TestDaemonFlagValues: a -t or --notify-retry-max that cannot apply is an
// error; it used to fall back silently to max_threads or 5m.
func TestDaemonFlagValues(t *testing.T) {
	cfg, statePath := siteFile(t, "monitors:\n  - {type: tcp, name: db, address: \"tcp://127.0.0.1:1\"}\n")
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"once", "-s", statePath, "-t", "-1", cfg}, "--threads -1: must be at least 1"},
		{[]string{"once", "-s", statePath, "--threads", "0", cfg}, "--threads 0: must be at least 1"},
		{[]string{"run", "-s", statePath, "-t", "-4", cfg}, "--threads -4: must be at least 1"},
		{[]string{"once", "-s", statePath, "--notify-retry-max", "-1s", cfg}, "--notify-retry-max -1s: must be a positive duration"},
		{[]string{"run", "-s", statePath, "--notify-retry-max", "0s", cfg}, "--notify-retry-max 0s: must be a positive duration"},
	}
	for _, tt := range tests {
		// Bounded: with the flag ignored, run would run until stopped.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"--cache-dir", cacheDir}, tt.args...), &stdout, &stderr)
		cancel()
		out, errOut := stdout.String(), stderr.String()
		if code != 1 || !strings.Contains(errOut, tt.msg) {
			t.Errorf("%v: exit %d (want 1)\nstdout: %s\nstderr: %s\nwant: %s", tt.args, code, out, errOut, tt.msg)
		}
	}
	if _, err := os.Stat(statePath); err == nil {
		t.Errorf("a refused command created the state database %s", statePath)
	}
}

// TestStateSharedDatabase: zappy state refuses to print one state database
// as the state of several sites, as run and once refuse to share it; it used
// to print the same table under each site's name.
func TestStateSharedDatabase(t *testing.T) {
	site := func(dir, name string) string {
		cfg := filepath.Join(dir, "site.yaml")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		yaml := "site: {name: " + name + "}\nmonitors:\n  - {type: tcp, name: db, address: \"tcp://127.0.0.1:1\"}\n"
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	dir := t.TempDir()
	a, b := site(filepath.Join(dir, "a"), "A"), site(filepath.Join(dir, "b"), "B")
	statePath := filepath.Join(dir, "state.db")
	t.Setenv("XDG_STATE_HOME", dir)
	// Site A's state, at -s and at its default path (which B's would be).
	for _, args := range [][]string{{"once", "-s", statePath, a}, {"once", a}} {
		if _, errOut, code := zappy(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"--state with two files", []string{"state", "-s", statePath, a, b}, "--state is only valid with a single config file"},
		{"-s after the files", []string{"state", a, b, "--state", statePath}, "--state is only valid with a single config file"},
		{"same default database", []string{"state", a, b}, "would share the state database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused(t, 1, tt.msg, tt.args...)
		})
	}
}

func TestOnceNotifyAndState(t *testing.T) {
	rcv := newReceiver(t)
	web := okServer(t)
	cfg, statePath := siteFile(t, fmt.Sprintf(`
site:
  name: OnceSite
  max_retries: 1
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
monitors:
  - type: http
    name: web
    address: %s/
  - type: tcp
    name: db
    address: tcp://%s
`, rcv.URL, web.URL, closedPort(t)))
	if _, errOut, code := zappy(t, "once", cfg, "--state", statePath); code != 0 {
		t.Fatalf("once: %d %s", code, errOut)
	}
	keys, msgs := rcv.count()
	if len(keys) != 1 || !strings.Contains(msgs[0], "db in OnceSite new outage: connect 127.0.0.1:") {
		t.Fatalf("notifications after once: %v", msgs)
	}
	out, _, code := zappy(t, "state", cfg, "--state", statePath)
	if code != 0 || !strings.Contains(out, "site OnceSite: 2 monitors, 1 in outage") || !strings.Contains(out, "OUTAGE (down)") {
		t.Fatalf("state: %d\n%s", code, out)
	}
	// Nothing is due a second later: no new check, no new notification.
	zappy(t, "once", cfg, "--state", statePath)
	if keys, _ := rcv.count(); len(keys) != 1 {
		t.Fatalf("second once notified again: %v", keys)
	}
	out, _, code = zappy(t, "notify", "test", cfg, "--dry-run")
	if code != 0 || !strings.Contains(out, "would send to webhook-1 (webhook): \"test notification from zappy for OnceSite at") {
		t.Fatalf("dry run: %d %s", code, out)
	}
	out, _, code = zappy(t, "notify", "test", cfg)
	if keys, _ := rcv.count(); code != 0 || !strings.Contains(out, "webhook-1: sent") || len(keys) != 2 {
		t.Fatalf("notify test: %d %s %v", code, out, keys)
	}
	rcv.down.Store(true)
	out, errOut, code := zappy(t, "notify", "test", cfg)
	if code != 1 || !strings.Contains(out, "webhook-1: FAILED: ") || !strings.Contains(out, "POST 127.0.0.1:") || !strings.Contains(errOut, "1 channel(s) failed") {
		t.Fatalf("notify test, endpoint down: %d %s %s", code, out, errOut)
	}
}

// daemon is a `zappy run` child process.
type daemon struct {
	cmd *exec.Cmd
	log *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startDaemon starts `zappy run` with args, logging at verbosity ("-v" or
// "-vv"), and kills it at the end of the test unless it has been waited for.
func startDaemon(t testing.TB, verbosity string, args ...string) *daemon {
	t.Helper()
	d := &daemon{log: &lockedBuffer{}}
	d.cmd = exec.Command(zappyBin(t), append([]string{"--cache-dir", cacheDir, verbosity, "run"}, args...)...)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	return d
}

// waitLog waits until the daemon's log contains s.
func (d *daemon) waitLog(t testing.TB, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if strings.Contains(d.log.String(), s) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("daemon log has no %q after %v:\n%s", s, within, d.log.String())
}

func TestRunSignalsReloadLock(t *testing.T) {
	web := okServer(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.yaml")
	write := func(extra string) {
		os.WriteFile(cfg, []byte(fmt.Sprintf("site:\n  name: RunSite\nmonitors:\n  - type: http\n    name: web\n    address: %s/\n    every: 1s\n%s", web.URL, extra)), 0o644)
	}
	write("")
	statePath := filepath.Join(dir, "state.db")
	d := startDaemon(t, "-vv", cfg, "--state", statePath)
	d.waitLog(t, "site started", 10*time.Second)
	d.waitLog(t, "monitor=web status=up", 10*time.Second)

	// A second daemon on the same state is refused.
	_, errOut, code := zappy(t, "run", cfg, "--state", statePath)
	if code != 1 || !strings.Contains(errOut, "is locked by pid "+strconv.Itoa(d.cmd.Process.Pid)) {
		t.Fatalf("second daemon: %d %s", code, errOut)
	}
	// SIGUSR1 logs the state table (no such signal on Windows).
	if statusSignal != nil {
		d.cmd.Process.Signal(statusSignal)
		d.waitLog(t, "site RunSite: 1 monitors, 0 in outage", 5*time.Second)
	}
	// Saving the file reloads it: the new monitor starts at once.
	write("  - type: http\n    name: added\n    address: " + web.URL + "/added\n    every: 1h\n")
	d.waitLog(t, "configuration reloaded", 10*time.Second)
	d.waitLog(t, "monitor=added status=up", 10*time.Second)
	// SIGHUP reloads too.
	if reloadSignal != nil {
		d.cmd.Process.Signal(reloadSignal)
		d.waitLog(t, "SIGHUP: reloading", 5*time.Second)
	}
	// SIGTERM stops gracefully.
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, d.log.String())
	}
	if !strings.Contains(d.log.String(), "stopping") {
		t.Fatalf("no graceful stop in log:\n%s", d.log.String())
	}
}

// TestCrashSafety kills the daemon with SIGKILL at random moments, over
// repeated runs, while the notification endpoint is down; then brings the
// endpoint back and lets one last daemon deliver. The state must open
// intact, and every notification the outbox ever held must have reached the
// receiver exactly once.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills daemons for ~20 s")
	}
	rcv := newReceiver(t)
	rcv.down.Store(true)
	cfg, statePath := siteFile(t, fmt.Sprintf(`
site:
  name: CrashSite
  max_retries: 1
  notify_every_n_secs: 1
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
monitors:
  - type: tcp
    name: db
    address: tcp://%s
    every: 1s
  - type: tcp
    name: cache
    address: tcp://%s
    every: 1s
`, rcv.URL, closedPort(t), closedPort(t)))
	args := []string{cfg, "--state", statePath, "--notify-retry-max", "1s"}
	for round := 0; round < 12; round++ {
		d := startDaemon(t, "-vv", args...)
		time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond)
		d.cmd.Process.Kill()
		d.cmd.Wait()
	}
	if keys, _ := rcv.count(); len(keys) != 0 {
		t.Fatalf("delivered while the endpoint was down: %v", keys)
	}
	// The state opens and is intact after the kills.
	db, err := sql.Open("sqlite", statePath)
	if err != nil {
		t.Fatal(err)
	}
	var integrity string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check: %q %v", integrity, err)
	}
	db.Close()
	// Endpoint back: a last daemon delivers everything queued, then stops.
	rcv.down.Store(false)
	d := startDaemon(t, "-vv", args...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if pending(t, statePath) == 0 && time.Now().After(deadline.Add(-17*time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d pending:\n%s", pending(t, statePath), d.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
	ids := sentIDs(t, statePath)
	keys, _ := rcv.count()
	if len(ids) < 5 {
		t.Fatalf("only %d notifications over the whole run", len(ids))
	}
	for _, id := range ids {
		if keys[id] != 1 {
			t.Errorf("notification %s delivered %d times", id, keys[id])
		}
	}
	for k, n := range keys {
		if !slices.Contains(ids, k) {
			t.Errorf("receiver got %q (%d times), which the outbox never held", k, n)
		}
	}
	t.Logf("%d notifications over 12 killed runs, each delivered exactly once", len(ids))
}

func pending(t testing.TB, path string) int {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.QueryRow("SELECT count(*) FROM outbox WHERE state IN ('pending','sending')").Scan(&n)
	return n
}

func sentIDs(t testing.TB, path string) []string {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, state FROM outbox")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, st string
		rows.Scan(&id, &st)
		if st != "sent" {
			t.Errorf("outbox item %s is %s", id, st)
		}
		ids = append(ids, id)
	}
	return ids
}

// writeMonitors writes a config of n http monitors against url (plus extra
// YAML) and returns its path.
func writeMonitors(t testing.TB, dir string, n int, typ, address, extra string) string {
	var b strings.Builder
	b.WriteString("site:\n  name: Bench\n  max_retries: 1\nmonitors:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - type: %s\n    name: m%05d\n    address: %q\n%s", typ, i, address, extra)
	}
	path := filepath.Join(dir, fmt.Sprintf("bench-%d.yaml", n))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// BenchmarkOnce runs `zappy once` (a fresh process, warm compilation cache,
// fresh state) on 200 http monitors against a loopback server, and on the
// same plus one monitor on a refused TCP port with 3 attempts and a 1 s
// timeout: the run must be bounded by that monitor's own retries (2 pauses
// of 500 ms), not by the others. APMonitor 1.2.0 takes 1.1–1.9 s for the
// first and ~41 s for the second on this machine.
func BenchmarkOnce(b *testing.B) {
	web := okServer(b)
	dir := b.TempDir()
	plain := writeMonitors(b, dir, 200, "http", web.URL+"/", "    expect: ok\n")
	withRefused := filepath.Join(dir, "refused.yaml")
	data, _ := os.ReadFile(plain)
	data = append(data, fmt.Sprintf("  - type: tcp\n    name: refused\n    address: tcp://%s\n    max_retries: 3\n    timeout: 1s\n", closedPort(b))...)
	os.WriteFile(withRefused, data, 0o644)
	bin := zappyBin(b)
	warmCache(b, "http", web.URL)
	for _, bc := range []struct{ name, cfg string }{{"200-http", plain}, {"200-http+refused", withRefused}} {
		b.Run(bc.name, func(b *testing.B) {
			var total time.Duration
			var maxRSS int64
			for i := 0; i < b.N; i++ {
				st := filepath.Join(b.TempDir(), "state.db")
				start := time.Now()
				cmd := exec.Command(bin, "--cache-dir", cacheDir, "once", bc.cfg, "--state", st)
				out, err := cmd.CombinedOutput()
				total += time.Since(start)
				if err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				maxRSS = max(maxRSS, maxRSSKB(cmd.ProcessState))
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "wall-s/op")
			b.ReportMetric(float64(maxRSS)/1024, "peak-rss-MB")
		})
	}
}

// BenchmarkIdleRSS starts `zappy run` with 1,000 and 10,000 tcp monitors
// checked hourly (first runs spread over the hour, so the daemon is idle
// between checks) and reports its resident memory once it has settled.
func BenchmarkIdleRSS(b *testing.B) {
	target := "tcp://" + testutil.AcceptAndClose(b)
	warmCache(b, "tcp", target)
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			cfg := writeMonitors(b, dir, n, "tcp", target, "    every: 1h\n")
			var rss float64
			for i := 0; i < b.N; i++ {
				d := startDaemon(b, "-vv", cfg, "--state", filepath.Join(b.TempDir(), "state.db"))
				d.waitLog(b, "site started", 60*time.Second)
				// Settled: the start-up garbage (parsing thousands of monitors)
				// collected and returned by the Go runtime's scavenger.
				time.Sleep(10 * time.Second)
				rss = max(rss, float64(childRSSKB(b, d.cmd.Process.Pid))/1024)
				d.cmd.Process.Signal(syscall.SIGTERM)
				d.cmd.Wait()
			}
			b.ReportMetric(rss, "rss-MB")
		})
	}
}

func childRSSKB(t testing.TB, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

// TestOncePortsChangeNotice: a ports monitor under `zappy once` (cron mode)
// keeps its baseline in the state between runs, and a switch port going
// down reaches the webhook as APMonitor's PORT CHANGE line.
func TestOncePortsChangeNotice(t *testing.T) {
	rcv := newReceiver(t)
	a := testutil.StartSNMPAgent(t, "lab")
	a.Set(".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks, uint32(1000))
	for i, name := range []string{"GigabitEthernet0/1", "GigabitEthernet0/2"} {
		a.Set(fmt.Sprintf(".1.3.6.1.2.1.2.2.1.2.%d", i+1), gosnmp.OctetString, name)
		a.Set(fmt.Sprintf(".1.3.6.1.2.1.2.2.1.7.%d", i+1), gosnmp.Integer, 1)
		a.Set(fmt.Sprintf(".1.3.6.1.2.1.2.2.1.8.%d", i+1), gosnmp.Integer, 1)
	}
	cfg, statePath := siteFile(t, fmt.Sprintf(`
site:
  name: Lab
  timezone: UTC
  outage_webhooks:
    - endpoint_url: %s/hook
      request_method: POST
      request_encoding: JSON
monitors:
  - type: ports
    name: sw
    address: snmp://%s
    community: lab
    every: 1s
`, rcv.URL, a.Addr))
	if _, errOut, code := zappy(t, "once", cfg, "--state", statePath); code != 0 {
		t.Fatalf("first once: %d %s", code, errOut)
	}
	a.Set(".1.3.6.1.2.1.2.2.1.8.2", gosnmp.Integer, 2)
	time.Sleep(1100 * time.Millisecond)
	if _, errOut, code := zappy(t, "once", cfg, "--state", statePath); code != 0 {
		t.Fatalf("second once: %d %s", code, errOut)
	}
	_, msgs := rcv.count()
	want := regexp.MustCompile(`^\{"message":"PORT CHANGE: sw in Lab: GigabitEthernet0/2 oper=down admin=up \(was oper=up admin=up\) at \d{1,2}:\d\d [AP]M UTC"\}$`)
	if len(msgs) != 1 || !want.MatchString(msgs[0]) {
		t.Fatalf("webhook got %q", msgs)
	}
}

// procCPU is the CPU time (user + system) process pid has used.
func procCPU(t testing.TB, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3, utime 14, stime 15, in clock ticks (100 Hz on Linux).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// BenchmarkPortsDaemon500 runs `zappy run` with 500 ports monitors, each
// polling a 48-port switch (a Go SNMP agent in the benchmark's process,
// whose CPU is not counted) every 10 s, and reports the daemon's CPU use
// (in % of one core) and resident memory over 30 s of steady state.
func BenchmarkPortsDaemon500(b *testing.B) {
	a := testutil.StartSNMPAgent(b, "")
	testutil.SNMPSwitch(a, 48, 4)
	dir := b.TempDir()
	var cfg strings.Builder
	cfg.WriteString("site:\n  name: Bench\nmonitors:\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&cfg, "  - type: ports\n    name: sw-%d\n    address: snmp://%s\n    every: 10s\n", i, a.Addr)
	}
	path := filepath.Join(dir, "site.yaml")
	os.WriteFile(path, []byte(cfg.String()), 0o644)
	warmCache(b, "tcp", "tcp://"+testutil.AcceptAndClose(b))
	for i := 0; i < b.N; i++ {
		statePath := filepath.Join(b.TempDir(), "state.db")
		d := startDaemon(b, "-v", "--state", statePath, path)
		d.waitLog(b, "site started", time.Minute)
		time.Sleep(12 * time.Second) // every monitor has polled once: baselines set
		cpu0, t0 := procCPU(b, d.cmd.Process.Pid), time.Now()
		time.Sleep(30 * time.Second)
		cpu1, t1 := procCPU(b, d.cmd.Process.Pid), time.Now()
		rss := float64(childRSSKB(b, d.cmd.Process.Pid)) / 1024
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
		if strings.Contains(d.log.String(), "level=ERROR") {
			b.Fatalf("daemon log:\n%s", d.log.String())
		}
		// Polls in the window, and that they were all good, from history.
		db, err := sql.Open("sqlite", statePath)
		if err != nil {
			b.Fatal(err)
		}
		var polls, bad int
		err = db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(status != 'up'), 0) FROM history WHERE at >= ? AND at < ?`, t0.UnixNano(), t1.UnixNano()).Scan(&polls, &bad)
		db.Close()
		if err != nil || bad > 0 || polls == 0 {
			b.Fatalf("history: %d polls, %d not up, %v", polls, bad, err)
		}
		wall := t1.Sub(t0).Seconds()
		cpu := (cpu1 - cpu0).Seconds()
		b.ReportMetric(100*cpu/wall, "cpu-%")
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(float64(polls)/wall, "polls/s")
		b.ReportMetric(1000*cpu/float64(polls), "cpu-ms/poll")
	}
}
