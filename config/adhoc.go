package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// AdHoc builds a monitor from the command line (zappy check --type ...),
// validated like one from a file named "command line". Values are taken
// literally: the shell has already expanded variables. timeout, when
// positive, bounds one attempt (sub-second values allowed); attempts, when
// positive, is max_retries.
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
		all["timeout"] = timeout.String()
	}
	if attempts > 0 {
		all["max_retries"] = attempts
	}
	data, err := yaml.Marshal(map[string]any{"monitors": []any{all}})
	if err != nil {
		return nil, err
	}
	cfg, err := parse("command line", data, options{adHoc: true})
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
	return m, nil
}

func toAny(list []string) []any {
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
