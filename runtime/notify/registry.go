package notify

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Factory builds a provider of one type from its configuration fields, as
// YAML decodes them (map[string]any with nested maps and lists).
type Factory func(name string, fields map[string]any) (Provider, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a provider type available to New. Provider packages call it
// from init, so adding a provider touches its own folder and nothing else.
// Registering a type twice panics: it is a programming error.
func Register(typ string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[typ]; dup {
		panic(fmt.Sprintf("notify: provider type %q registered twice", typ))
	}
	registry[typ] = f
}

// Types lists the registered provider types, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	types := make([]string, 0, len(registry))
	for t := range registry {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}

// New builds the provider called name of type typ from its fields. Every
// provider but email is built here (email needs the site's server and its
// recipients, see package email). The keys the config layer handles for
// every notifier (type, name, outages, recoveries, reminders) are ignored if
// present; any other unknown key is an error.
func New(name, typ string, fields map[string]any) (Provider, error) {
	registryMu.RLock()
	f, ok := registry[typ]
	registryMu.RUnlock()
	if !ok {
		known := Types()
		if len(known) == 0 {
			return nil, fmt.Errorf("notifier %q: unknown type %q (no provider packages are linked in)", name, typ)
		}
		return nil, fmt.Errorf("notifier %q: unknown type %q (known: %s)", name, typ, strings.Join(known, ", "))
	}
	return f(name, fields)
}
