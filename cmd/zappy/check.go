package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/zappy-mon/zappy/config"
	"github.com/zappy-mon/zappy/runtime/check"
	"github.com/zappy-mon/zappy/runtime/runner"
)

type checkFlags struct {
	config     string
	typ        string
	address    string
	name       string
	expect     string
	asserts    []string
	degradedIf []string
	sets       []string
	module     string
	timeout    time.Duration
	retries    int
	json       bool
}

func checkCommand(g *globalFlags) *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check [--type TYPE --address ADDR | -c CONFIG [NAME...]]",
		Short: "Run checks once and print their results",
		Long: `Run one ad-hoc check (--type and --address) or the monitors of a config file
(-c, optionally only the named ones), print one line (or one JSON object with
--json) per check, and exit with the worst status: 0 up, 1 degraded, 2 down,
3 error (the Nagios plugin convention).`,
		Example: `  zappy check --type http --address https://example.com --assert 'code == 200'
  zappy check --type tcp --address tcp://mail:25 --expect 220
  zappy check --module smtp-check.wasm --type smtp --address tcp://mail:25 --set starttls=true
  zappy check -c site.yaml web-frontend --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			oneShotGC()
			err := runCheck(cmd, g, f, args)
			var ee exitError
			if err != nil && !errors.As(err, &ee) {
				return exitError{3, err} // Nagios UNKNOWN: the check could not run
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "run the monitors of this config file")
	fl.StringVarP(&f.typ, "type", "t", "", "check type of an ad-hoc check (ping, tcp, udp, http, quic, cert, ports, port, host, or a type of --module)")
	fl.StringVarP(&f.address, "address", "a", "", "address of an ad-hoc check, as in a monitor's address field")
	fl.StringVar(&f.name, "name", "", "name of an ad-hoc check (default \"TYPE ADDRESS\")")
	fl.StringVar(&f.expect, "expect", "", "set the check's expect field")
	fl.StringArrayVar(&f.asserts, "assert", nil, "expr assertion on the result's fields (repeatable)")
	fl.StringArrayVar(&f.degradedIf, "degraded-if", nil, "expr condition that makes an up result degraded (repeatable)")
	fl.StringArrayVar(&f.sets, "set", nil, "set a monitor field, KEY=VALUE with VALUE read as YAML (repeatable)")
	fl.StringVar(&f.module, "module", "", "custom check module (.wasm) providing --type")
	fl.DurationVar(&f.timeout, "timeout", 0, "bound of one attempt (default: max_try_secs, 20s)")
	fl.IntVar(&f.retries, "retries", 1, "attempts of an ad-hoc check (config monitors use max_retries)")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per check")
	return cmd
}

func runCheck(cmd *cobra.Command, g *globalFlags, f *checkFlags, args []string) error {
	ctx := cmd.Context()
	pr := startRunner(cmd, g)
	defer pr.close()
	monitors, err := checkMonitors(f, args, cmd.Flags().Changed)
	if err != nil {
		return err
	}
	r, err := pr.wait()
	if err != nil {
		return err
	}
	checks, problems, err := prepare(ctx, r, monitors)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return problems
	}
	results := make([]check.Result, len(checks))
	done := make(chan struct{})
	for i, c := range checks {
		go func() {
			results[i] = c.Run(ctx, nil)
			done <- struct{}{}
		}()
	}
	for range checks {
		<-done
	}
	worst := 0
	for _, res := range results {
		if err := printResult(cmd.OutOrStdout(), res, f.json); err != nil {
			return err
		}
		worst = max(worst, res.Status.ExitCode())
	}
	if worst != 0 {
		return exitError{code: worst}
	}
	return nil
}

// prepare resolves the type of each monitor. The problems of the monitors
// that cannot run (an unknown type, a module that does not load) come back
// together; any other error ends it.
func prepare(ctx context.Context, r *runner.Runner, monitors []*config.Monitor) ([]*runner.Check, config.Errors, error) {
	checks := make([]*runner.Check, 0, len(monitors))
	var problems config.Errors
	for _, m := range monitors {
		c, err := r.Prepare(ctx, m)
		var ce *config.Error
		switch {
		case errors.As(err, &ce):
			problems = append(problems, ce)
		case err != nil:
			return nil, nil, err
		default:
			checks = append(checks, c)
		}
	}
	return checks, problems, nil
}

// adHocFlags shape an ad-hoc check only: with -c the monitors' own fields
// apply, and a flag that would be ignored is refused instead.
var adHocFlags = []string{"name", "expect", "assert", "degraded-if", "set", "module", "retries"}

// setFlags are the monitor fields that a flag of its own sets, and that
// flag: --set of such a field together with the flag is refused, since one
// of the two would be ignored.
var setFlags = map[string]string{
	"type": "type", "address": "address", "name": "name", "expect": "expect", "module": "module",
	"assert": "assert", "degraded_if": "degraded-if", "timeout": "timeout", "max_try_secs": "timeout", "max_retries": "retries",
}

// checkMonitors builds the monitors to run from the flags; changed reports
// whether a flag was given.
func checkMonitors(f *checkFlags, args []string, changed func(string) bool) ([]*config.Monitor, error) {
	// The bound of one attempt, as a monitor's timeout field takes it.
	if changed("timeout") && f.timeout < time.Millisecond {
		return nil, fmt.Errorf("--timeout %s: must be at least 1ms", f.timeout)
	}
	if f.config != "" {
		if f.typ != "" || f.address != "" {
			return nil, fmt.Errorf("use either -c CONFIG or --type/--address, not both")
		}
		var ignored []string
		for _, name := range adHocFlags {
			if changed(name) {
				ignored = append(ignored, "--"+name)
			}
		}
		if len(ignored) > 0 {
			return nil, fmt.Errorf("%s: only for an ad-hoc check (--type and --address); with -c the monitors' own fields apply", strings.Join(ignored, ", "))
		}
		cfg, err := config.Load(f.config)
		if err != nil {
			return nil, err
		}
		monitors := cfg.Monitors
		if len(args) > 0 {
			byName := map[string]*config.Monitor{}
			for _, m := range cfg.Monitors {
				byName[m.Name] = m
			}
			monitors = nil
			for _, name := range args {
				m, ok := byName[name]
				if !ok {
					return nil, fmt.Errorf("%s has no monitor named %q", f.config, name)
				}
				monitors = append(monitors, m)
			}
		}
		if f.timeout > 0 {
			for _, m := range monitors {
				m.MaxTry = f.timeout
			}
		}
		return monitors, nil
	}
	if len(args) > 0 {
		return nil, fmt.Errorf("monitor names (%s) need -c CONFIG", strings.Join(args, ", "))
	}
	if f.typ == "" || f.address == "" {
		return nil, fmt.Errorf("give --type and --address for an ad-hoc check, or -c CONFIG")
	}
	if changed("retries") && f.retries < 1 {
		return nil, fmt.Errorf("--retries %d: must be at least 1", f.retries)
	}
	retries := f.retries
	fields := map[string]any{}
	for _, s := range f.sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--set %q: want KEY=VALUE", s)
		}
		switch flag := setFlags[k]; {
		case flag == "type" || flag == "address":
			return nil, fmt.Errorf("--set %s: give it with --%s", k, flag)
		case flag != "" && changed(flag):
			return nil, fmt.Errorf("--set %s: --%s sets it too; give one of them", k, flag)
		case flag == "retries":
			retries = 0 // the field applies, not --retries' default
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil || val == nil {
			val = v
		}
		fields[k] = val
	}
	// A flag given empty is checked like the field, not dropped.
	if changed("expect") {
		fields["expect"] = f.expect
	}
	if changed("name") {
		fields["name"] = f.name
	}
	if changed("module") {
		fields["module"] = f.module
	}
	m, err := config.AdHoc(f.typ, f.address, fields, f.asserts, f.degradedIf, f.timeout, retries)
	if err != nil {
		return nil, err
	}
	return []*config.Monitor{m}, nil
}

// jsonResult is the --json shape of a result.
type jsonResult struct {
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	Target    string         `json:"target"`
	Status    check.Status   `json:"status"`
	Class     check.Class    `json:"class"`
	Message   string         `json:"message"`
	LatencyMS float64        `json:"latency_ms"`
	Attempts  int            `json:"attempts"`
	Started   time.Time      `json:"started"`
	Metrics   []check.Metric `json:"metrics"`
	Fields    map[string]any `json:"fields"`
	Events    []check.Event  `json:"events,omitempty"`
}

// printResult prints r as its summary line, followed by one indented line
// per event the module reported ("  PORT CHANGE: Gi0/2 oper=down ..."), or
// as one JSON object (events under "events").
func printResult(w io.Writer, r check.Result, asJSON bool) error {
	if !asJSON {
		var b strings.Builder
		b.WriteString(r.Summary())
		b.WriteByte('\n')
		for _, e := range r.Events {
			b.WriteString("  " + e.Title)
			if e.Message != "" {
				b.WriteString(": " + e.Message)
			}
			b.WriteByte('\n')
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	out := jsonResult{r.Name, r.Type, r.Target, r.Status, r.Class, r.Message, r.LatencyMS, r.Attempts, r.Started, r.Metrics, r.Fields, r.Events}
	if out.Metrics == nil {
		out.Metrics = []check.Metric{}
	}
	if out.Fields == nil {
		out.Fields = map[string]any{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}
