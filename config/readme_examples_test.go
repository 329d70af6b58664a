package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestREADMEExamplesLoad loads every YAML example of the README, so that the
// manual's examples keep running. Fragments (a monitor list, one site
// section, an assert list) are wrapped into a minimal file first.
func TestREADMEExamplesLoad(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Values for the ${VAR}s of the examples, of the kinds their fields need.
	env := map[string]string{"SLACK_WEBHOOK": "https://hooks.slack.com/services/T0/B0/X"}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_][A-Z0-9_]*)\}`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := env[m[1]]; !ok {
			env[m[1]] = "secret-" + strings.ToLower(m[1])
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	const dummy = "monitors:\n  - type: tcp\n    name: dummy-example-monitor\n    address: \"tcp://127.0.0.1:1\"\n"
	indent := func(s, by string) string {
		return by + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+by) + "\n"
	}
	lines := strings.Split(string(b), "\n")
	dir := t.TempDir()
	n := 0
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```yaml" {
			continue
		}
		start := i + 2 // README line of the block's first line
		var block strings.Builder
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			block.WriteString(lines[i] + "\n")
		}
		text := block.String()
		first := strings.TrimSpace(strings.SplitN(text, "\n", 2)[0])
		var file string
		switch {
		case strings.Contains(text, "module:"):
			continue // custom modules are built and run by their own tests
		case strings.HasPrefix(first, "#") && strings.Count(strings.TrimSpace(text), "\n") == 0:
			continue // a comment only
		case strings.HasPrefix(first, "- type:"):
			file = "monitors:\n" + indent(text, "  ")
		case strings.HasPrefix(first, "site:") || strings.HasPrefix(first, "x-"):
			file = text
			if !strings.Contains(text, "\nmonitors:") {
				file += dummy
			}
		case strings.HasPrefix(first, "outage_webhooks:"):
			file = "site:\n" + indent(text, "  ") + dummy
		case strings.HasPrefix(first, "assert:") || strings.HasPrefix(first, "degraded_if:"):
			file = "monitors:\n  - type: http\n    name: example\n    address: \"https://example.com/\"\n" + indent(text, "    ")
		default:
			t.Errorf("README.md:%d: a YAML example this test does not know how to load (starts %q)", start, first)
			continue
		}
		n++
		path := filepath.Join(dir, "readme-line-"+strconv.Itoa(start)+".yaml")
		if err := os.WriteFile(path, []byte(file), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err != nil {
			t.Errorf("README.md:%d: example does not load:\n%v\n--- as loaded:\n%s", start, err, file)
		}
	}
	if n < 10 {
		t.Fatalf("only %d YAML examples found in the README", n)
	}
}
