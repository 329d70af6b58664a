package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestSchemaFresh: the committed zappy.schema.json is JSONSchema()'s output.
func TestSchemaFresh(t *testing.T) {
	committed, err := os.ReadFile("zappy.schema.json")
	if err != nil {
		t.Fatalf("%v: run go generate ./config", err)
	}
	if !bytes.Equal(committed, JSONSchema()) {
		t.Fatal("zappy.schema.json is stale: run go generate ./config")
	}
}

// TestSchemaDescribesEveryField: every field of every table has a
// description and appears in the schema.
func TestSchemaDescribesEveryField(t *testing.T) {
	tables := map[string]table{"top": topFields, "site": siteFields, "email_server": emailServerFields, "outage_emails": recipientFields,
		"webhook": webhookFields, "report": reportFields, "monitor": allMonitorFields, "notifier": allNotifierFields}
	schema := string(JSONSchema())
	for name, tab := range tables {
		for _, fd := range tab {
			if fd.doc == "" {
				t.Errorf("%s.%s has no description", name, fd.name)
			}
			if !strings.Contains(schema, `"`+fd.name+`": {`) {
				t.Errorf("%s.%s is not in the schema", name, fd.name)
			}
		}
	}
}

// TestSchemaValidates: the examples validate against the schema, and
// files the loader rejects for a schema-expressible reason do not.
func TestSchemaValidates(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(JSONSchema(), &schema); err != nil {
		t.Fatal(err)
	}
	v := &validator{root: schema}
	checkKeywords(t, schema)
	good := []string{"../examples/demo.yaml", "testdata/good/apmonitor-readme.yaml", "testdata/good/apmonitor-readme.json", "testdata/good/zappy-full.yaml"}
	for _, file := range good {
		if errs := v.validateFile(t, file); len(errs) > 0 {
			t.Errorf("%s does not validate:\n%s", file, strings.Join(errs, "\n"))
		}
	}
	bad := map[string]string{
		"unknown-monitor-field.yaml": "/monitors/0: property chek_every_n_secs",
		"unknown-site-field.yaml":    "/site: property notify_every_n_sec is not allowed",
		"type-snmp.yaml":             "/monitors/0/type: \"snmp\" is not one of",
		"type-specific-fields.yaml":  "/monitors/0: property expect",
		"udp-send-required.yaml":     "/monitors/0: required property send is missing",
		"snmp-port.yaml":             "/monitors/0: required property port is missing",
		"webhooks.yaml":              "/site/outage_webhooks/0/request_method: \"PUT\" is not one of",
		"notifiers.yaml":             "/site/notifiers/0/type: \"slak\" is not one of",
		"ping-fields.yaml":           "/monitors/0/count: 0 is less than 1",
		"boolish.yaml":               "/monitors/0/email: no alternative of anyOf matches",
		"urls.yaml":                  "/monitors/0/address: \"example.com/health\" does not match",
		"http-fields.yaml":           "/monitors/0/expect_status: no alternative of anyOf matches",
		"monitors-empty.yaml":        "/monitors: fewer than 1 items",
		"module.yaml":                "/monitors/0/type: \"My Check\" does not match",
		"wrong-types.yaml":           "/site/name: want string",
	}
	for file, want := range bad {
		errs := v.validateFile(t, "testdata/bad/"+file)
		if !strings.Contains(strings.Join(errs, "\n"), want) {
			t.Errorf("%s: want an error containing %q, got:\n%s", file, want, strings.Join(errs, "\n"))
		}
	}
}

// validator is a small JSON Schema (2020-12) validator for the keywords
// JSONSchema uses; checkKeywords makes sure it uses no others.
type validator struct {
	root map[string]any
}

var knownKeywords = map[string]bool{
	"$schema": true, "$id": true, "$defs": true, "$ref": true, "title": true, "description": true, "default": true, "format": true,
	"type": true, "enum": true, "const": true, "pattern": true, "minimum": true, "maximum": true, "minLength": true, "minItems": true,
	"properties": true, "patternProperties": true, "additionalProperties": true, "required": true, "propertyNames": true, "items": true,
	"anyOf": true, "allOf": true, "if": true, "then": true, "else": true,
}

// checkKeywords walks every schema object of the document.
func checkKeywords(t *testing.T, s any) {
	t.Helper()
	m, ok := s.(map[string]any)
	if !ok {
		return
	}
	for k, v := range m {
		if !knownKeywords[k] {
			t.Errorf("schema keyword %q is not checked by the test validator", k)
		}
		switch k {
		case "properties", "patternProperties", "$defs":
			for _, sub := range v.(map[string]any) {
				checkKeywords(t, sub)
			}
		case "anyOf", "allOf":
			for _, sub := range v.([]any) {
				checkKeywords(t, sub)
			}
		case "items", "additionalProperties", "propertyNames", "if", "then", "else":
			checkKeywords(t, v)
		}
	}
}

func (v *validator) validateFile(t *testing.T, file string) []string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v.validate(v.root, normalize(doc), "")
}

// normalize gives YAML values JSON's shapes.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	case int:
		return float64(x)
	}
	return v
}

func (v *validator) validate(s any, x any, at string) []string {
	schema, ok := s.(map[string]any)
	if !ok {
		if b, isBool := s.(bool); isBool && !b {
			return []string{at + ": not allowed"}
		}
		return nil
	}
	where := at
	if where == "" {
		where = "/"
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, where+": "+fmt.Sprintf(format, args...)) }
	if ref, ok := schema["$ref"].(string); ok {
		target := any(v.root)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			target = target.(map[string]any)[part]
		}
		errs = append(errs, v.validate(target, x, at)...)
	}
	if typ, ok := schema["type"].(string); ok && !hasType(x, typ) {
		fail("want %s, got %s", typ, kindOf(x))
		return errs
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if jsonEqual(e, x) {
				found = true
			}
		}
		if !found {
			fail("%s is not one of %v", mustJSON(x), enum)
		}
	}
	if c, ok := schema["const"]; ok && !jsonEqual(c, x) {
		fail("%s is not %s", mustJSON(x), mustJSON(c))
	}
	if s, isStr := x.(string); isStr {
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			fail("%q does not match %s", s, p)
		}
		if n, ok := schema["minLength"].(float64); ok && float64(len([]rune(s))) < n {
			fail("%q is shorter than %v", s, n)
		}
	}
	if n, isNum := x.(float64); isNum {
		if min, ok := schema["minimum"].(float64); ok && n < min {
			fail("%v is less than %v", n, min)
		}
		if max, ok := schema["maximum"].(float64); ok && n > max {
			fail("%v is more than %v", n, max)
		}
	}
	if list, isList := x.([]any); isList {
		if n, ok := schema["minItems"].(float64); ok && float64(len(list)) < n {
			fail("fewer than %v items", n)
		}
		if items, ok := schema["items"]; ok {
			for i, e := range list {
				errs = append(errs, v.validate(items, e, fmt.Sprintf("%s/%d", at, i))...)
			}
		}
	}
	if obj, isObj := x.(map[string]any); isObj {
		props, _ := schema["properties"].(map[string]any)
		patterns, _ := schema["patternProperties"].(map[string]any)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			matched := false
			if ps, ok := props[k]; ok {
				matched = true
				errs = append(errs, v.validate(ps, obj[k], at+"/"+k)...)
			}
			for p, ps := range patterns {
				if regexp.MustCompile(p).MatchString(k) {
					matched = true
					errs = append(errs, v.validate(ps, obj[k], at+"/"+k)...)
				}
			}
			if ap, ok := schema["additionalProperties"]; ok && !matched {
				if b, isBool := ap.(bool); isBool && !b {
					fail("property %s is not allowed", k)
				} else {
					errs = append(errs, v.validate(ap, obj[k], at+"/"+k)...)
				}
			}
			if pn, ok := schema["propertyNames"]; ok {
				if len(v.validate(pn, k, "")) > 0 {
					fail("property %s is not allowed here", k)
				}
			}
		}
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				fail("required property %s is missing", r)
			}
		}
	}
	if anyOf, ok := schema["anyOf"].([]any); ok {
		matched := false
		for _, sub := range anyOf {
			if len(v.validate(sub, x, at)) == 0 {
				matched = true
				break
			}
		}
		if !matched {
			fail("no alternative of anyOf matches %s", mustJSON(x))
		}
	}
	if allOf, ok := schema["allOf"].([]any); ok {
		for _, sub := range allOf {
			errs = append(errs, v.validate(sub, x, at)...)
		}
	}
	if cond, ok := schema["if"]; ok {
		if len(v.validate(cond, x, at)) == 0 {
			if then, ok := schema["then"]; ok {
				errs = append(errs, v.validate(then, x, at)...)
			}
		} else if els, ok := schema["else"]; ok {
			errs = append(errs, v.validate(els, x, at)...)
		}
	}
	return errs
}

func hasType(x any, typ string) bool {
	switch typ {
	case "string":
		_, ok := x.(string)
		return ok
	case "integer":
		n, ok := x.(float64)
		return ok && n == math.Trunc(n)
	case "number":
		_, ok := x.(float64)
		return ok
	case "boolean":
		_, ok := x.(bool)
		return ok
	case "object":
		_, ok := x.(map[string]any)
		return ok
	case "array":
		_, ok := x.([]any)
		return ok
	case "null":
		return x == nil
	}
	return false
}

func jsonEqual(a, b any) bool { return mustJSON(a) == mustJSON(b) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
