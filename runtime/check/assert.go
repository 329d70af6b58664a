package check

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Assertions are a monitor's `assert` and `degraded_if` expressions (expr
// language, https://expr-lang.org), compiled once when the configuration is
// loaded and applied to every result of the monitor.
//
// The expressions see the result's fields (for http: code, status, body,
// headers, redirects, timings, cert, ...) plus status, message, latency_ms,
// class and metrics (a map of metric name to value).
type Assertions struct {
	assert     []*expression
	degradedIf []*expression
}

type expression struct {
	src     string
	prog    *vm.Program
	operand []operand // the variables it reads, shown when it fails
}

type operand struct {
	src  string
	prog *vm.Program
}

// AssertError is a compile error in one expression; Field is "assert" or
// "degraded_if" and Index its position in the list.
type AssertError struct {
	Field string
	Index int
	Expr  string
	Err   error
}

func (e *AssertError) Error() string {
	return fmt.Sprintf("%s[%d] %q: %s", e.Field, e.Index, e.Expr, oneLine(e.Err.Error()))
}

func (e *AssertError) Unwrap() error { return e.Err }

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// CompileAssertions compiles the expressions; nil lists are fine.
func CompileAssertions(asserts, degradedIf []string) (*Assertions, error) {
	a := &Assertions{}
	for i, src := range asserts {
		e, err := compileExpression(src)
		if err != nil {
			return nil, &AssertError{Field: "assert", Index: i, Expr: src, Err: err}
		}
		a.assert = append(a.assert, e)
	}
	for i, src := range degradedIf {
		e, err := compileExpression(src)
		if err != nil {
			return nil, &AssertError{Field: "degraded_if", Index: i, Expr: src, Err: err}
		}
		a.degradedIf = append(a.degradedIf, e)
	}
	return a, nil
}

// Empty reports whether there is nothing to apply.
func (a *Assertions) Empty() bool { return a == nil || len(a.assert)+len(a.degradedIf) == 0 }

func compileExpression(src string) (*expression, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	// AsBool refuses at load what is known not to be a boolean ("1 + 1");
	// the program that runs goes without its run-time cast, whose error
	// ("invalid operation: bool(float64)") says less than eval's.
	if _, err := expr.Compile(src, expr.AsBool(), expr.AllowUndefinedVariables()); err != nil {
		return nil, err
	}
	prog, err := expr.Compile(src, expr.AllowUndefinedVariables())
	if err != nil {
		return nil, err
	}
	e := &expression{src: src, prog: prog}
	for _, s := range operands(prog.Node()) {
		p, err := expr.Compile(s, expr.AllowUndefinedVariables())
		if err == nil {
			e.operand = append(e.operand, operand{src: s, prog: p})
		}
	}
	return e, nil
}

// operands lists the variables and member paths an expression reads, longest
// paths only ("cert.days_left" rather than "cert").
type collector struct{ seen []string }

func (c *collector) Visit(n *ast.Node) {
	switch node := (*n).(type) {
	case *ast.IdentifierNode:
		c.seen = append(c.seen, node.Value)
	case *ast.MemberNode:
		c.seen = append(c.seen, node.String())
	}
}

func operands(root ast.Node) []string {
	c := &collector{}
	ast.Walk(&root, c)
	var out []string
	for _, s := range c.seen {
		covered := false
		for _, t := range c.seen {
			if t != s && (strings.HasPrefix(t, s+".") || strings.HasPrefix(t, s+"[") || strings.HasPrefix(t, s+"?.")) {
				covered = true
				break
			}
		}
		if !covered && !slices.Contains(out, s) && !strings.HasPrefix(s, "#") {
			out = append(out, s)
		}
	}
	return out
}

// Env builds the variables an expression sees for a result.
func Env(r *Result) map[string]any {
	env := make(map[string]any, len(r.Fields)+5)
	for k, v := range r.Fields {
		env[k] = v
	}
	metrics := make(map[string]any, len(r.Metrics))
	for _, m := range r.Metrics {
		metrics[m.Name] = m.Value
	}
	env["status"] = string(r.Status)
	env["message"] = r.Message
	env["latency_ms"] = r.LatencyMS
	env["class"] = string(r.Class)
	env["metrics"] = metrics
	return env
}

// Apply evaluates the expressions against r. A failing assert turns an up or
// degraded result down (class APPLICATION_ERROR) with a message naming the
// expression and the values it saw; a true degraded_if turns up into
// degraded. Results that are already down or error are left alone: their
// fields may be missing.
func (a *Assertions) Apply(r *Result) {
	if a.Empty() || !r.Status.Good() {
		return
	}
	env := Env(r)
	for _, e := range a.assert {
		ok, err := e.eval(env)
		if err != nil {
			r.Status, r.Class = Down, ApplicationError
			r.Message = fmt.Sprintf("assert error: %s: %s%s", e.src, oneLine(err.Error()), e.values(env))
			return
		}
		if !ok {
			r.Status, r.Class = Down, ApplicationError
			r.Message = "assert failed: " + e.src + e.values(env)
			return
		}
	}
	if r.Status != Up {
		return
	}
	for _, e := range a.degradedIf {
		ok, err := e.eval(env)
		if err != nil {
			r.Status = Degraded
			r.Message = fmt.Sprintf("degraded_if error: %s: %s%s", e.src, oneLine(err.Error()), e.values(env))
			return
		}
		if ok {
			r.Status = Degraded
			r.Message = "degraded: " + e.src + e.values(env) + "; " + r.Message
			return
		}
	}
}

func (e *expression) eval(env map[string]any) (bool, error) {
	out, err := expr.Run(e.prog, env)
	if err != nil {
		return false, err
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expression gave %T, not a boolean", out)
	}
	return b, nil
}

// values renders " (a=1, b=\"x\")" for the operands of e.
func (e *expression) values(env map[string]any) string {
	if len(e.operand) == 0 {
		return ""
	}
	parts := make([]string, 0, len(e.operand))
	for _, o := range e.operand {
		v, err := expr.Run(o.prog, env)
		if err != nil {
			parts = append(parts, o.src+"=<"+oneLine(err.Error())+">")
			continue
		}
		parts = append(parts, o.src+"="+show(v))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

// show renders a value compactly for a message.
func show(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 80 {
			x = x[:80] + "…"
		}
		return fmt.Sprintf("%q", x)
	case float64:
		s = fmt.Sprintf("%g", x)
	case bool, int, int64:
		s = fmt.Sprint(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(b)
		}
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
