package config

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
)

// SchemaID is the $id of the JSON Schema.
const SchemaID = "https://github.com/zappy-mon/zappy/config/zappy.schema.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of configuration
// files, for editor completion and validation (e.g. a
// `# yaml-language-server: $schema=...` comment). It is generated from the
// same field tables as the validator, so the two cannot drift apart; the
// committed zappy.schema.json is its output (go generate ./config).
//
// The schema describes the file as written: it cannot know ${VAR} values,
// and a few rules need the whole file (unique names, dependencies, cron
// specs, expressions), so the loader remains the authority.
func JSONSchema() []byte {
	type obj = map[string]any
	defs := obj{
		"boolish":    boolishSchema(false),
		"boolish_ok": boolishSchema(true),
		"site": withRefs(objectSchema(siteFields, "Site-level settings: notifications and the defaults of every monitor."), obj{
			"email_server":    obj{"$ref": "#/$defs/email_server"},
			"outage_emails":   obj{"type": "array", "items": obj{"$ref": "#/$defs/outage_email"}},
			"outage_webhooks": obj{"type": "array", "items": obj{"$ref": "#/$defs/webhook"}},
			"notifiers":       obj{"type": "array", "items": obj{"$ref": "#/$defs/notifier"}},
			"report":          obj{"$ref": "#/$defs/report"},
		}),
		"email_server": objectSchema(emailServerFields, "SMTP server for outage emails."),
		"outage_email": objectSchema(recipientFields, "One email recipient."),
		"webhook":      objectSchema(webhookFields, "An APMonitor-style webhook."),
		"report":       objectSchema(reportFields, "Periodic report of everything still failing."),
		"notifier":     notifierSchema(),
		"monitor":      monitorSchema(),
	}
	root := obj{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         SchemaID,
		"title":       "zappy configuration",
		"description": "A zappy site: APMonitor's site + monitors schema with zappy's extensions. String values may use ${VAR} and ${VAR:-default}.",
		"type":        "object",
		"properties": obj{
			"site":     obj{"$ref": "#/$defs/site", "description": topFields.get("site").doc},
			"monitors": obj{"type": "array", "minItems": 1, "items": obj{"$ref": "#/$defs/monitor"}, "description": topFields.get("monitors").doc},
		},
		"required":             []string{"monitors"},
		"patternProperties":    obj{"^x-": obj{"description": "Extension keys are ignored; they hold YAML anchors for templates (<<: *anchor)."}},
		"additionalProperties": false,
		"$defs":                defs,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		panic(err) // the schema is built from constant tables
	}
	return b.Bytes()
}

// withRefs replaces the schemas of nested-object fields with references,
// keeping their descriptions.
func withRefs(s map[string]any, refs map[string]any) map[string]any {
	props := s["properties"].(map[string]any)
	for name, ref := range refs {
		r := ref.(map[string]any)
		if d, ok := props[name].(map[string]any)["description"]; ok {
			r["description"] = d
		}
		props[name] = r
	}
	return s
}

// properties returns the schemas of t's fields and the names of its
// required ones.
func properties(t table) (props map[string]any, required []string) {
	props = map[string]any{}
	for i := range t {
		props[t[i].name] = fieldSchema(&t[i])
		if t[i].required {
			required = append(required, t[i].name)
		}
	}
	return props, required
}

// objectSchema describes a mapping of the fields of t and nothing else.
func objectSchema(t table, doc string) map[string]any {
	props, req := properties(t)
	s := map[string]any{"type": "object", "description": doc, "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		s["required"] = req
	}
	return s
}

// ignoreCase turns words into an ECMA-262 pattern that matches them in any
// case (JSON Schema patterns have no case-insensitive flag).
func ignoreCase(words ...string) string {
	var alts []string
	for _, w := range words {
		var b strings.Builder
		for _, c := range w {
			lo, up := strings.ToLower(string(c)), strings.ToUpper(string(c))
			if lo == up {
				b.WriteString(lo)
			} else {
				b.WriteString("[" + up + lo + "]")
			}
		}
		alts = append(alts, b.String())
	}
	return `^\s*(?:` + strings.Join(alts, "|") + `)\s*$`
}

func boolishSchema(ok bool) map[string]any {
	words := []string{"true", "yes", "on", "1", "false", "no", "off", "0"}
	desc := "A flag: true/yes/on/1 or false/no/off/0 (any case), a YAML boolean, or 0/1."
	if ok {
		words = append(words, "ok")
		desc = "A flag: true/yes/ok/on/1 or false/no/off/0 (any case), a YAML boolean, or 0/1."
	}
	return map[string]any{
		"description": desc,
		"anyOf": []any{
			map[string]any{"type": "boolean"},
			map[string]any{"enum": []any{0, 1}},
			map[string]any{"type": "string", "pattern": ignoreCase(words...)},
		},
	}
}

// durationPattern matches what time.ParseDuration accepts.
const durationPattern = `^\s*[-+]?(?:0|(?:[0-9]*(?:\.[0-9]*)?(?:ns|us|µs|μs|ms|s|m|h))+)\s*$`

// fieldSchema describes one field's value.
func fieldSchema(fd *field) map[string]any {
	s := map[string]any{}
	bounds := func(s map[string]any) map[string]any {
		if fd.hasMin {
			s["minimum"] = fd.min
		}
		if fd.hasMax {
			s["maximum"] = fd.max
		}
		return s
	}
	switch fd.kind {
	case kAny, kObject, kObjects:
	case kString:
		s["type"] = "string"
	case kText, kData, kPath, kCron, kTimezone, kType:
		s["type"] = "string"
		s["minLength"] = 1
	case kInt:
		s["type"] = "integer"
		bounds(s)
	case kNumber:
		s["type"] = "number"
		bounds(s)
	case kBool:
		s["$ref"] = "#/$defs/boolish"
	case kBoolOK:
		s["$ref"] = "#/$defs/boolish_ok"
	case kDuration:
		secs := map[string]any{"type": "integer", "description": "seconds", "maximum": maxSecs}
		if fd.hasMin {
			secs["minimum"] = math.Ceil(fd.min)
		}
		s["anyOf"] = []any{secs, map[string]any{"type": "string", "pattern": durationPattern, "description": `a Go duration: "90s", "1m30s", "500ms", "24h"`}}
	case kEnum:
		s["type"] = "string"
		s["enum"] = fd.enum
	case kURL:
		s["type"] = "string"
		s["format"] = "uri"
		s["pattern"] = `^https?://[^/?#]+`
	case kEmail:
		s["type"] = "string"
		s["format"] = "email"
		s["pattern"] = emailRE.String()
	case kStrings, kExprs:
		str := map[string]any{"type": "string", "minLength": 1}
		s["anyOf"] = []any{str, map[string]any{"type": "array", "items": str}}
	case kStringMap:
		s["type"] = "object"
		s["additionalProperties"] = map[string]any{"type": "string"}
	case kStatuses:
		code := map[string]any{"type": "integer", "minimum": 100, "maximum": 599}
		s["anyOf"] = []any{code, map[string]any{"type": "array", "minItems": 1, "items": code}}
	case kFingerprint:
		s["type"] = "string"
		s["pattern"] = `^[0-9A-Fa-f:]+$`
	case kMAC:
		s["type"] = "string"
		s["pattern"] = macRE.String()
	case kSNMPVersion:
		s["enum"] = []any{1, 3, "1", "2c", "3"}
	}
	if fd.doc != "" {
		s["description"] = fd.doc
	}
	if fd.def != nil {
		s["default"] = fd.def
	}
	return s
}

// addressPatterns are the schemes the address of each type starts with.
var addressPatterns = map[string]string{
	"http":  `^https?://`,
	"quic":  `^https://`,
	"tcp":   `^tcp://`,
	"udp":   `^udp://`,
	"ports": `^snmp://`,
	"port":  `^snmp://`,
	"host":  `^snmp://`,
	"ping":  `^[^/]+$`,
}

// variant describes, under if/then, the fields of one type of a
// discriminated object (monitors and notifiers): the names it allows, the
// ones it requires, and the schemas of its own fields.
func variant(typ, doc string, common, own table, extra map[string]any) map[string]any {
	props, req := properties(own)
	for k, v := range extra {
		props[k] = v
	}
	then := map[string]any{"propertyNames": map[string]any{"enum": join(common, own).names()}}
	if doc != "" {
		then["description"] = doc
	}
	if len(props) > 0 {
		then["properties"] = props
	}
	if len(req) > 0 {
		then["required"] = req
	}
	return map[string]any{
		"if":   map[string]any{"properties": map[string]any{"type": map[string]any{"const": typ}}, "required": []string{"type"}},
		"then": then,
	}
}

func monitorSchema() map[string]any {
	var variants []any
	for _, typ := range monitorTypes {
		extra := map[string]any{}
		if pat, ok := addressPatterns[typ]; ok {
			extra["address"] = map[string]any{"type": "string", "pattern": pat, "description": typeDocs[typ]}
		}
		variants = append(variants, variant(typ, typeDocs[typ], monitorCommon, typeFields[typ], extra))
	}
	props, req := properties(monitorCommon)
	return map[string]any{
		"type":        "object",
		"description": "One monitored resource. The fields allowed depend on its type; a monitor with a module may have any further fields (the module's manifest validates them).",
		"properties":  props,
		"required":    req,
		"if":          map[string]any{"required": []string{"module"}},
		"then":        map[string]any{"properties": map[string]any{"type": map[string]any{"type": "string", "pattern": typePattern}}},
		"else": map[string]any{
			"properties": map[string]any{"type": map[string]any{"enum": monitorTypes}},
			"allOf":      variants,
		},
	}
}

func notifierSchema() map[string]any {
	var variants []any
	for _, typ := range notifierTypes {
		variants = append(variants, variant(typ, "", notifierCommon, notifierFields[typ], nil))
	}
	props, req := properties(notifierCommon)
	return map[string]any{
		"type":        "object",
		"description": "A notification channel; the fields allowed depend on its type.",
		"properties":  props,
		"required":    req,
		"allOf":       variants,
	}
}
