// Package config loads zappy configuration files: APMonitor's site +
// monitors schema in YAML or JSON, with zappy's extensions.
//
// Every error names the file, the line, the monitor and the field, and all
// errors of a file are reported at once.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/zappy-mon/zappy/runtime/check"
)

// Config is one loaded configuration file: one site.
type Config struct {
	File     string
	Site     Site
	Monitors []*Monitor
}

// Site holds the site-level settings used by checks.
type Site struct {
	Name       string
	MaxRetries int           // attempts per check run; default 3
	MaxTry     time.Duration // bound of one attempt; default 20s
	Fields     map[string]any
}

// Monitor is one entry of `monitors:`.
type Monitor struct {
	Name    string
	Type    string
	Address string
	File    string
	Line    int
	// Fields holds every field as written, decoded from YAML; it is what
	// the check module receives as its configuration.
	Fields map[string]any
	// Lines maps each field to the line it is on.
	Lines map[string]int

	Module     string        // path of a custom module (resolved against the file's directory)
	MaxRetries int           // attempts per run
	MaxTry     time.Duration // bound of one attempt
	Allow      []string      // extra destinations the check may reach
	Assert     []string
	DegradedIf []string
	Assertions *check.Assertions
}

// ConfigJSON renders the monitor's fields as the JSON object handed to its
// check module.
func (m *Monitor) ConfigJSON() json.RawMessage {
	b, err := json.Marshal(m.Fields)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

// Error is one configuration problem.
type Error struct {
	File    string
	Line    int
	Monitor string // "" for site-level problems
	Field   string
	Msg     string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Monitor != "" {
		fmt.Fprintf(&b, "monitor %q: ", e.Monitor)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Defaults from the APMonitor README.
const (
	DefaultMaxRetries = 3
	DefaultMaxTry     = 20 * time.Second
)

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse validates configuration data; file names it in errors and anchors
// relative module paths.
func Parse(file string, data []byte) (*Config, error) {
	p := &parser{file: file}
	cfg := p.parse(data)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, p.errs
	}
	return cfg, nil
}

type parser struct {
	file string
	errs Errors
}

func (p *parser) fail(line int, monitor, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Monitor: monitor, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) *Config {
	cfg := &Config{File: p.file, Site: Site{MaxRetries: DefaultMaxRetries, MaxTry: DefaultMaxTry}}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.fail(0, "", "", "the file is empty")
			return nil
		}
		line, msg := yamlErrorLine(err.Error())
		if l := syntaxErrorLine(data, msg); l > 0 {
			line = l
		}
		p.fail(line, "", "", "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		p.fail(0, "", "", "the file is empty")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "", "", "the top level must be a mapping with `site:` and `monitors:`")
		return nil
	}
	var monitors *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "site":
			p.site(cfg, v)
		case "monitors":
			monitors = v
		default:
			p.fail(k.Line, "", k.Value, "unknown top-level key (want site or monitors)")
		}
	}
	if monitors == nil {
		p.fail(root.Line, "", "monitors", "missing: the file must list its monitors")
		return cfg
	}
	if monitors.Kind != yaml.SequenceNode {
		p.fail(monitors.Line, "", "monitors", "must be a list")
		return cfg
	}
	seen := map[string]int{}
	for _, n := range monitors.Content {
		m := p.monitor(cfg, n)
		if m == nil {
			continue
		}
		if prev, dup := seen[m.Name]; dup {
			p.fail(m.Lines["name"], m.Name, "name", "duplicate monitor name (first used on line %d); names must be unique", prev)
			continue
		}
		seen[m.Name] = m.Line
		cfg.Monitors = append(cfg.Monitors, m)
	}
	return cfg
}

// syntaxErrorLine finds where a syntax error really is: yaml.v3 reports the
// line where the enclosing collection began, so the first prefix of the
// document that fails with the same message marks the offending line.
func syntaxErrorLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		var n yaml.Node
		err := yaml.NewDecoder(bytes.NewReader(prefix)).Decode(&n)
		if err == nil || errors.Is(err, io.EOF) {
			continue
		}
		if _, m := yamlErrorLine(err.Error()); m == msg {
			return i + 1
		}
	}
	return 0
}

// yamlErrorLine pulls "line N" out of a yaml.v3 syntax error.
func yamlErrorLine(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.HasPrefix(msg, "line ") {
		rest := msg[len("line "):]
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				return n, "YAML syntax error: " + strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return 0, "YAML syntax error: " + msg
}

func (p *parser) site(cfg *Config, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, "", "site", "must be a mapping")
		return
	}
	fields, lines := p.mapping(n, "")
	cfg.Site.Fields = fields
	if v, ok := fields["name"]; ok {
		cfg.Site.Name = fmt.Sprint(v)
	}
	if v, ok := p.positiveInt(fields, lines, "", "max_retries"); ok {
		cfg.Site.MaxRetries = v
	}
	if v, ok := p.positiveInt(fields, lines, "", "max_try_secs"); ok {
		cfg.Site.MaxTry = time.Duration(v) * time.Second
	}
}

// mapping decodes a YAML mapping into plain Go values with each key's line.
func (p *parser) mapping(n *yaml.Node, monitor string) (map[string]any, map[string]int) {
	fields := map[string]any{}
	lines := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := lines[k.Value]; dup {
			p.fail(k.Line, monitor, k.Value, "set twice (also on line %d)", lines[k.Value])
			continue
		}
		var val any
		if err := v.Decode(&val); err != nil {
			p.fail(v.Line, monitor, k.Value, "%v", err)
			continue
		}
		fields[k.Value] = normalize(val)
		lines[k.Value] = k.Line
	}
	return fields, lines
}

// normalize turns YAML's map[string]interface{} trees into JSON-friendly values.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

func (p *parser) monitor(cfg *Config, n *yaml.Node) *Monitor {
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, "", "monitors", "each monitor must be a mapping (type, name, address, ...)")
		return nil
	}
	m := &Monitor{File: p.file, Line: n.Line, MaxRetries: cfg.Site.MaxRetries, MaxTry: cfg.Site.MaxTry}
	// The name first, so that every other error can name the monitor.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			m.Name = n.Content[i+1].Value
		}
	}
	label := m.Name
	if label == "" {
		label = fmt.Sprintf("#%d", len(cfg.Monitors)+1)
	}
	m.Fields, m.Lines = p.mapping(n, label)
	ok := true
	str := func(key string) string {
		v, present := m.Fields[key]
		if !present {
			p.fail(m.Line, label, key, "missing (required)")
			ok = false
			return ""
		}
		s, isStr := v.(string)
		if !isStr || strings.TrimSpace(s) == "" {
			p.fail(m.Lines[key], label, key, "must be a non-empty string")
			ok = false
		}
		return s
	}
	m.Name = str("name")
	m.Type = str("type")
	m.Address = str("address")
	if v, ok := p.positiveInt(m.Fields, m.Lines, label, "max_retries"); ok {
		m.MaxRetries = v
	}
	if v, ok := p.positiveInt(m.Fields, m.Lines, label, "max_try_secs"); ok {
		m.MaxTry = time.Duration(v) * time.Second
	}
	if v, present := m.Fields["module"]; present {
		s, isStr := v.(string)
		if !isStr || s == "" {
			p.fail(m.Lines["module"], label, "module", "must be the path of a .wasm file")
		} else {
			if !filepath.IsAbs(s) {
				s = filepath.Join(filepath.Dir(p.file), s)
			}
			m.Module = s
		}
	}
	m.Allow = p.stringList(m, label, "allow")
	m.Assert = p.stringList(m, label, "assert")
	m.DegradedIf = p.stringList(m, label, "degraded_if")
	a, err := check.CompileAssertions(m.Assert, m.DegradedIf)
	if err != nil {
		var ae *check.AssertError
		if errors.As(err, &ae) {
			p.fail(m.Lines[ae.Field], label, fmt.Sprintf("%s[%d]", ae.Field, ae.Index), "%q: %s", ae.Expr, firstLine(ae.Err.Error()))
		} else {
			p.fail(m.Line, label, "assert", "%v", err)
		}
		ok = false
	}
	m.Assertions = a
	if !ok {
		return nil
	}
	return m
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// stringList reads a field that may be one string or a list of strings.
func (p *parser) stringList(m *Monitor, label, key string) []string {
	v, present := m.Fields[key]
	if !present {
		return nil
	}
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				p.fail(m.Lines[key], label, fmt.Sprintf("%s[%d]", key, i), "must be a string")
				continue
			}
			out = append(out, s)
		}
		return out
	}
	p.fail(m.Lines[key], label, key, "must be a string or a list of strings")
	return nil
}

func (p *parser) positiveInt(fields map[string]any, lines map[string]int, label, key string) (int, bool) {
	v, present := fields[key]
	if !present {
		return 0, false
	}
	n, ok := v.(int)
	if !ok || n < 1 {
		p.fail(lines[key], label, key, "must be an integer ≥ 1 (got %v)", v)
		return 0, false
	}
	return n, true
}

// AdHoc builds a monitor from the command line (zappy check --type ...),
// validated like one from a file named "command line".
func AdHoc(typ, address string, fields map[string]any, asserts, degradedIf []string, timeout time.Duration, attempts int) (*Monitor, error) {
	all := map[string]any{}
	for k, v := range fields {
		all[k] = v
	}
	all["type"], all["address"] = typ, address
	if _, ok := all["name"]; !ok {
		all["name"] = typ + " " + address
	}
	if len(asserts) > 0 {
		all["assert"] = toAny(asserts)
	}
	if len(degradedIf) > 0 {
		all["degraded_if"] = toAny(degradedIf)
	}
	if timeout > 0 {
		all["max_try_secs"] = int(max(timeout.Round(time.Second), time.Second) / time.Second)
	}
	if attempts > 0 {
		all["max_retries"] = attempts
	}
	data, err := yaml.Marshal(map[string]any{"monitors": []any{all}})
	if err != nil {
		return nil, err
	}
	cfg, err := Parse("command line", data)
	if err != nil {
		// Lines of the YAML built here mean nothing to the user.
		if errs, ok := err.(Errors); ok {
			for _, e := range errs {
				e.Line = 0
			}
		}
		return nil, err
	}
	m := cfg.Monitors[0]
	m.Line, m.Lines = 0, map[string]int{}
	if timeout > 0 {
		m.MaxTry = timeout // sub-second precision from the flag
	}
	return m, nil
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
