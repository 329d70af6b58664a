package site

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zappy-mon/zappy/config"
)

// TestDaemonReloadsEachFileOnItsOwn: a broken file keeps its site on the
// previous configuration while the other files reload.
func TestDaemonReloadsEachFileOnItsOwn(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	web := newTarget(t)
	dir := t.TempDir()
	write := func(name, site string, monitors ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "site:\n  name: %s\nmonitors:\n", site)
		for _, m := range monitors {
			fmt.Fprintf(&b, "  - type: http\n    name: %s\n    address: %s/\n    every: 1h\n", m, web.URL)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	a := write("a.yaml", "A", "a1")
	b := write("b.yaml", "B", "b1")
	d, err := NewDaemon(context.Background(), []string{a, b}, DaemonOptions{Runner: testRunner(t), Log: quietLog(), Watch: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	os.WriteFile(a, []byte("monitors:\n  - type: http\n    name: broken\n    address: not a url\n"), 0o644)
	write("b.yaml", "B", "b1", "b2")
	d.Reload()
	deadline := time.Now().Add(10 * time.Second)
	for d.Sites()[1].monitor("b2") == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	sa, sb := d.Sites()[0], d.Sites()[1]
	if sb.monitor("b2") == nil || sa.monitor("a1") == nil || sa.monitor("broken") != nil {
		t.Fatalf("after the reload: A has a1 %v, broken %v; B has b2 %v", sa.monitor("a1") != nil, sa.monitor("broken") != nil, sb.monitor("b2") != nil)
	}
}

func TestCheckStatePaths(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/lib")
	cfg := func(file string) *config.Config { return &config.Config{File: file} }
	tests := []struct {
		name     string
		cfgs     []*config.Config
		override string
		err      string
	}{
		{"distinct names", []*config.Config{cfg("/etc/zappy/a.yaml"), cfg("/etc/zappy/b.yaml")}, "", ""},
		{"same name in two directories", []*config.Config{cfg("/etc/zappy/site.yaml"), cfg("/srv/lab/site.yaml")}, "",
			"/etc/zappy/site.yaml and /srv/lab/site.yaml would share the state database /var/lib/zappy/site.db (it is named after the config file): rename one of the files, or run them in separate zappy processes with --state"},
		{"--state with one file", []*config.Config{cfg("/etc/zappy/site.yaml")}, "/tmp/x.db", ""},
		{"--state with two files", []*config.Config{cfg("/a.yaml"), cfg("/b.yaml")}, "/tmp/x.db",
			"--state is only valid with a single config file: each site keeps its own state"},
	}
	for _, tt := range tests {
		err := CheckStatePaths(tt.cfgs, tt.override)
		if got := fmt.Sprint(err); tt.err == "" && err != nil || tt.err != "" && got != tt.err {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
