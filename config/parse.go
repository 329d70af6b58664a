package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

const (
	// maxValues bounds the values a document may expand to through
	// aliases ("billion laughs"); real files are far below it.
	maxValues = 1 << 20
	// maxDepth bounds nesting.
	maxDepth = 64
)

type parser struct {
	file       string
	opt        options
	errs       Errors
	budget     int
	overBudget bool
	active     map[*yaml.Node]bool // anchors being expanded, to catch self-reference
}

func (p *parser) fail(line int, monitor, field, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Monitor: monitor, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) parse(data []byte) *Config {
	p.active = map[*yaml.Node]bool{}
	cfg := &Config{File: p.file, Site: defaultSite(p.file)}
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
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := 0
		if err == nil {
			line = next.Line
		}
		p.fail(line, "", "", "a configuration file holds one YAML document; this is a second one")
		return nil
	}
	if len(doc.Content) == 0 {
		p.fail(0, "", "", "the file is empty")
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "", "", "the top level must be a mapping with `site:` and `monitors:`")
		return nil
	}
	top := p.object(root, "", "", func(string) kind { return kObject })
	p.validate(top, topFields, func(key string) string {
		if strings.HasPrefix(key, "x-") {
			return "" // extension keys hold YAML anchors for templates, as in docker compose
		}
		return unknownField(key, topFields.names())
	})
	if top.present("site") {
		p.site(cfg, top)
	}
	if top.present("monitors") {
		p.monitors(cfg, top)
	}
	return cfg
}

// syntaxErrorLine finds where a syntax error really is: yaml.v3 reports the
// line where the enclosing collection began, so the shortest prefix of the
// document (in whole lines) that fails with the same message marks the
// offending line. A prefix that holds the offending line fails as the whole
// document does, and a shorter one does not, so a binary search finds it in
// O(log lines) parses; trying every prefix in turn took minutes on a
// 10,000-line file with an error near its end.
func syntaxErrorLine(data []byte, msg string) int {
	lines := bytes.SplitAfter(data, []byte("\n"))
	ends := make([]int, len(lines)) // ends[i]: bytes in lines 1..i+1
	n := 0
	for i, l := range lines {
		n += len(l)
		ends[i] = n
	}
	fails := func(i int) bool { // the prefix of lines 1..i+1
		var node yaml.Node
		err := yaml.NewDecoder(bytes.NewReader(data[:ends[i]])).Decode(&node)
		if err == nil || errors.Is(err, io.EOF) {
			return false
		}
		_, m := yamlErrorLine(err.Error())
		return m == msg
	}
	if len(lines) == 0 || !fails(len(lines)-1) {
		return 0
	}
	i := sort.Search(len(lines)-1, fails) // the last prefix is known to fail
	return i + 1
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

// resolve follows an alias to its anchor.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < maxDepth; i++ {
		n = n.Alias
	}
	return n
}

// entry is one key of a mapping.
type entry struct {
	key  string
	line int        // the key's line (the << line for merged keys)
	val  *yaml.Node // the value
}

// entries lists a mapping's keys in file order. Keys merged in with `<<`
// (YAML merge keys, handy for monitor templates) come after the explicit
// ones, which win over them. Problems are reported under monitor; ok is
// false when there were any.
func (p *parser) entries(n *yaml.Node, prefix, monitor string, depth int) (out []entry, ok bool) {
	mark := len(p.errs)
	fail := func(line int, field, format string, args ...any) {
		p.fail(line, monitor, field, format, args...)
	}
	seen := map[string]int{}
	type merge struct {
		line int
		val  *yaml.Node
	}
	var merges []merge
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			fail(n.Content[i].Line, strings.TrimSuffix(prefix, "."), "keys must be plain names, not lists or mappings")
			continue
		}
		if k.Tag == "!!merge" {
			merges = append(merges, merge{k.Line, v})
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			fail(k.Line, prefix+k.Value, "set twice (also on line %d)", prev)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{k.Value, k.Line, v})
	}
	for _, m := range merges {
		v := resolve(m.val)
		var sources []*yaml.Node
		switch v.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{v}
		case yaml.SequenceNode:
			for _, s := range v.Content {
				sources = append(sources, resolve(s))
			}
		}
		if len(sources) == 0 {
			fail(m.line, prefix+"<<", "must be a mapping, or a list of mappings, to merge in")
			continue
		}
		for _, s := range sources {
			if s == nil || s.Kind != yaml.MappingNode {
				fail(m.line, prefix+"<<", "must be a mapping, or a list of mappings, to merge in")
				break
			}
			if p.active[s] || depth > maxDepth {
				fail(m.line, prefix+"<<", "merges a mapping into itself")
				continue
			}
			p.active[s] = true
			sub, _ := p.entries(s, prefix, monitor, depth+1)
			delete(p.active, s)
			for _, e := range sub {
				if _, dup := seen[e.key]; dup {
					continue // explicit keys, and earlier merges, win
				}
				seen[e.key] = m.line
				out = append(out, entry{e.key, m.line, e.val})
			}
		}
	}
	return out, len(p.errs) == mark
}

// value converts a YAML node to plain Go values (string, int, float64,
// bool, nil, []any, map[string]any), expanding ${VAR} in strings. k is the
// kind of field the value is for; it decides how a plain ${VAR} is typed.
func (p *parser) value(n *yaml.Node, k kind, monitor, field string, depth int) (any, bool) {
	if depth > maxDepth {
		p.fail(n.Line, monitor, field, "nested too deeply")
		return nil, false
	}
	if p.budget--; p.budget < 0 {
		if !p.overBudget {
			p.fail(n.Line, monitor, field, "the document expands to more than %d values (aliases of aliases?)", maxValues)
			p.overBudget = true
		}
		return nil, false
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			p.fail(n.Line, monitor, field, "unknown alias *%s", n.Value)
			return nil, false
		}
		if p.active[n.Alias] {
			p.fail(n.Line, monitor, field, "alias *%s refers to a value that contains it", n.Value)
			return nil, false
		}
		p.active[n.Alias] = true
		defer delete(p.active, n.Alias)
		return p.value(n.Alias, k, monitor, field, depth+1)
	case yaml.ScalarNode:
		return p.scalar(n, k, monitor, field)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, good := p.value(c, k.elem(), monitor, fmt.Sprintf("%s[%d]", field, i), depth+1)
			ok = ok && good
			out = append(out, v)
		}
		return out, ok
	case yaml.MappingNode:
		entries, ok := p.entries(n, field+".", monitor, depth)
		out := make(map[string]any, len(entries))
		for _, e := range entries {
			v, good := p.value(e.val, k.elem(), monitor, field+"."+e.key, depth+1)
			ok = ok && good
			out[e.key] = v
		}
		return out, ok
	}
	p.fail(n.Line, monitor, field, "unexpected YAML node")
	return nil, false
}

const notPlain = yaml.TaggedStyle | yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle

func (p *parser) scalar(n *yaml.Node, k kind, monitor, field string) (any, bool) {
	var v any
	if err := n.Decode(&v); err != nil {
		p.fail(n.Line, monitor, field, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, false
	}
	switch x := v.(type) {
	case string:
		if !p.opt.expand || n.Tag == "!!binary" {
			return x, true
		}
		s, err := expand(x, p.opt.lookup)
		if err != nil {
			p.fail(n.Line, monitor, field, "%v", err)
			return nil, false
		}
		if s != x && n.Style&notPlain == 0 && !k.keepsString() {
			return readPlain(s), true
		}
		return s, true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			p.fail(n.Line, monitor, field, "must be a finite number (got %v)", x)
			return nil, false
		}
	case int64, uint64:
		// Beyond int: no field takes such numbers; keep them as decimals.
		f, _ := strconv.ParseFloat(fmt.Sprint(x), 64)
		return f, true
	}
	return v, true
}

// readPlain types an expanded plain scalar as YAML would have typed the same
// text written in place (numbers, booleans); empty and null-like text stays
// a string.
func readPlain(s string) any {
	var v any
	if err := (&yaml.Node{Kind: yaml.ScalarNode, Value: s}).Decode(&v); err != nil || v == nil {
		return s
	}
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return s
	}
	if _, ok := v.(string); ok {
		return s
	}
	return v
}

// obj is one mapping being validated against a field table.
type obj struct {
	p       *parser
	prefix  string // prepended to keys in errors: "site.", "site.notifiers[0]." or "" for monitors
	monitor string
	line    int
	entries []entry
	raw     map[string]any        // as written, after ${VAR} expansion
	lines   map[string]int        // key lines
	nodes   map[string]*yaml.Node // value nodes
	typed   map[string]any        // validated values
	bad     map[string]bool       // present, but wrong
}

// object reads mapping n; kindOf gives each key's kind. Fields of kind
// kObject/kObjects are not converted: their caller builds them.
func (p *parser) object(n *yaml.Node, prefix, monitor string, kindOf func(string) kind) *obj {
	o := &obj{p: p, prefix: prefix, monitor: monitor, line: n.Line,
		raw: map[string]any{}, lines: map[string]int{}, nodes: map[string]*yaml.Node{},
		typed: map[string]any{}, bad: map[string]bool{}}
	o.entries, _ = p.entries(n, prefix, monitor, 0)
	for _, e := range o.entries {
		o.lines[e.key] = e.line
		o.nodes[e.key] = e.val
		k := kindOf(e.key)
		if k == kObject || k == kObjects {
			continue
		}
		v, ok := p.value(e.val, k, monitor, prefix+e.key, 0)
		o.raw[e.key] = v
		if !ok {
			o.bad[e.key] = true
		}
	}
	return o
}

// validate checks o's keys against t: unknown keys (unknown returns the
// message for one, nil means "unknown field" with a hint), values, and
// required fields.
func (p *parser) validate(o *obj, t table, unknown func(key string) string) {
	for _, e := range o.entries {
		fd := t.get(e.key)
		if fd == nil {
			msg := ""
			if unknown != nil {
				msg = unknown(e.key)
			} else {
				msg = unknownField(e.key, t.names())
			}
			if msg != "" {
				o.fail(e.key, "%s", msg)
				o.bad[e.key] = true
			}
			continue
		}
		if o.bad[e.key] || fd.kind == kObject || fd.kind == kObjects {
			continue
		}
		typed, msg, sub := fd.check(o.raw[e.key])
		if msg != "" {
			p.fail(subLine(o.nodes[e.key], sub, e.line), o.monitor, o.prefix+e.key+sub, "%s", msg)
			o.bad[e.key] = true
			continue
		}
		o.typed[e.key] = typed
	}
	for _, fd := range t {
		if fd.required && !o.present(fd.name) {
			p.fail(o.line, o.monitor, o.prefix+fd.name, "missing (required)")
		}
	}
}

func unknownField(key string, known []string) string {
	if h := suggest(key, known); h != "" {
		return "unknown field (did you mean " + h + "?)"
	}
	return "unknown field"
}

// subLine is the line of the part of a value an error is about.
func subLine(n *yaml.Node, sub string, def int) int {
	n = resolve(n)
	if n == nil || sub == "" {
		return def
	}
	if strings.HasPrefix(sub, "[") {
		i, err := strconv.Atoi(strings.Trim(sub, "[]"))
		if err == nil && n.Kind == yaml.SequenceNode && i >= 0 && i < len(n.Content) {
			return n.Content[i].Line
		}
		return def
	}
	if n.Kind == yaml.MappingNode {
		key := strings.TrimPrefix(sub, ".")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	return def
}

func (o *obj) fail(key, format string, args ...any) {
	line := o.lines[key]
	if line == 0 {
		line = o.line
	}
	o.p.fail(line, o.monitor, o.prefix+key, format, args...)
}

func (o *obj) present(key string) bool { _, ok := o.lines[key]; return ok }
func (o *obj) has(key string) bool     { _, ok := o.typed[key]; return ok }

func (o *obj) str(key string) string {
	s, _ := o.typed[key].(string)
	return s
}

func (o *obj) strs(key string) []string {
	s, _ := o.typed[key].([]string)
	return s
}

func (o *obj) intOr(key string, d int) int {
	if v, ok := o.typed[key].(int); ok {
		return v
	}
	return d
}

func (o *obj) numOr(key string, d float64) float64 {
	if v, ok := o.typed[key].(float64); ok {
		return v
	}
	return d
}

func (o *obj) boolOr(key string, d bool) bool {
	if v, ok := o.typed[key].(bool); ok {
		return v
	}
	return d
}

func (o *obj) durOr(key string, d time.Duration) time.Duration {
	if v, ok := o.typed[key].(time.Duration); ok {
		return v
	}
	return d
}

// secsOr reads an integer-seconds field.
func (o *obj) secsOr(key string, d time.Duration) time.Duration {
	if v, ok := o.typed[key].(int); ok {
		return time.Duration(v) * time.Second
	}
	return d
}

// items returns the mappings of a kObjects field, reporting anything else
// (with notMapping, or "must be a mapping"); the slots of bad items are nil.
func (o *obj) items(key, notMapping string) []*yaml.Node {
	n := resolve(o.nodes[key])
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.fail(key, "must be a list")
		o.bad[key] = true
		return nil
	}
	out := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		c = resolve(c)
		if c == nil || c.Kind != yaml.MappingNode {
			if notMapping == "" {
				notMapping = "must be a mapping"
			}
			o.p.fail(n.Content[i].Line, o.monitor, fmt.Sprintf("%s%s[%d]", o.prefix, key, i), "%s", notMapping)
			o.bad[key] = true
			continue
		}
		out[i] = c
	}
	return out
}

// mapping returns the mapping of a kObject field, reporting anything else.
func (o *obj) mapping(key string) *yaml.Node {
	n := resolve(o.nodes[key])
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		o.fail(key, "must be a mapping")
		o.bad[key] = true
		return nil
	}
	return n
}

// tableKinds returns a kindOf function for object.
func tableKinds(t table) func(string) kind {
	return func(key string) kind {
		if fd := t.get(key); fd != nil {
			return fd.kind
		}
		return kAny
	}
}

// resolvePath anchors a relative path at the configuration file's directory.
func (p *parser) resolvePath(s string) string {
	if filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(filepath.Dir(p.file), s)
}
