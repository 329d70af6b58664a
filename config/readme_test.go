package config

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEDocumentsFields fails when a configuration key the loader
// accepts is missing from the README, the user's manual.
func TestREADMEDocumentsFields(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	tables := map[string]table{
		"top level":            topFields,
		"site":                 siteFields,
		"site.email_server":    emailServerFields,
		"site.outage_emails":   recipientFields,
		"site.outage_webhooks": webhookFields,
		"site.report":          reportFields,
		"notifiers":            notifierCommon,
		"monitors":             monitorCommon,
	}
	for typ, tb := range notifierFields {
		tables["notifiers type "+typ] = tb
	}
	for typ, tb := range typeFields {
		tables["monitor type "+typ] = tb
	}
	for where, tb := range tables {
		for _, f := range tb {
			if !strings.Contains(readme, "`"+f.name+"`") {
				t.Errorf("README does not document %s field %q", where, f.name)
			}
		}
	}
	for _, typ := range append(append([]string{}, monitorTypes...), notifierTypes...) {
		if !strings.Contains(readme, "`"+typ+"`") {
			t.Errorf("README does not document type %q", typ)
		}
	}
}
