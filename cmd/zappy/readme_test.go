package main

import (
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestREADMEDocumentsCLI fails when a command or flag a user can type is
// missing from the README, the user's manual.
func TestREADMEDocumentsCLI(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		if c.Runnable() {
			if path := c.CommandPath(); !strings.Contains(readme, "`"+path) && !strings.Contains(readme, "\n"+path+" ") {
				t.Errorf("README does not document the command %q", path)
			}
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" {
				return
			}
			if !strings.Contains(readme, "`--"+f.Name) {
				t.Errorf("README does not document the flag --%s of %q", f.Name, c.CommandPath())
			}
			if f.Shorthand != "" && !strings.Contains(readme, "`-"+f.Shorthand+"`") && !strings.Contains(readme, "`-"+f.Shorthand+" ") {
				t.Errorf("README does not document the flag -%s of %q", f.Shorthand, c.CommandPath())
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&globalFlags{}))
}
