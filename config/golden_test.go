package config

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/bad")

// TestBadConfigs loads every file of testdata/bad and compares all of its
// errors with the golden file next to it (go test ./config -run
// TestBadConfigs -update rewrites them).
func TestBadConfigs(t *testing.T) {
	yamls, _ := filepath.Glob("testdata/bad/*.yaml")
	jsons, _ := filepath.Glob("testdata/bad/*.json")
	files := append(yamls, jsons...)
	if len(files) < 40 {
		t.Errorf("only %d bad configurations; the table should cover every rule", len(files))
	}
	goldens, _ := filepath.Glob("testdata/bad/*.golden")
	for _, g := range goldens {
		base := strings.TrimSuffix(g, ".golden")
		if _, err := os.Stat(base + ".yaml"); err != nil {
			if _, err := os.Stat(base + ".json"); err != nil {
				t.Errorf("%s has no configuration file", g)
			}
		}
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			if err == nil {
				t.Fatal("loaded without error")
			}
			if _, ok := err.(Errors); !ok {
				t.Fatalf("error of type %T, want Errors", err)
			}
			got := err.Error() + "\n"
			// Every message names the file and the line.
			lineRE := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:[1-9][0-9]*: \S`)
			for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !lineRE.MatchString(l) {
					t.Errorf("message without file:line: %q", l)
				}
			}
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run TestBadConfigs -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
