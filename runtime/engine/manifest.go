package engine

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// ABIVersion is the version of sdk/ABI.md this host speaks.
const ABIVersion = 1

const (
	modeMultiplexed = "multiplexed"
	modeBlocking    = "blocking"
)

// Manifest is what a module says about itself (sdk/ABI.md, "Manifest").
type Manifest struct {
	ABI          int        `json:"abi"`
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	Mode         string     `json:"mode"`
	SDK          string     `json:"sdk,omitempty"`
	Types        []TypeInfo `json:"types"`
	Capabilities []string   `json:"capabilities,omitempty"` // module-wide, in addition to per-type ones
	// Frames is the version of the frame encoding (sdk/ABI.md, "Frames")
	// in which the module reads check inputs; 0, or a version this host
	// does not know, gets JSON.
	Frames frameVersions `json:"frames,omitempty"`
}

// frameVersions reads a manifest's "frames": an integer, the version;
// anything else (what a later ABI may put there) is 0 here, not an error,
// so that such a module still loads and gets JSON.
type frameVersions int

func (f *frameVersions) UnmarshalJSON(b []byte) error {
	var n int
	if json.Unmarshal(b, &n) != nil {
		n = 0
	}
	*f = frameVersions(n)
	return nil
}

// TypeInfo describes one check type of a module.
type TypeInfo struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	Schema       json.RawMessage `json:"schema,omitempty"`
	Capabilities []string        `json:"capabilities,omitempty"`
}

// Capabilities known to ABI v1, one per family of operations.
var knownCapabilities = map[string]bool{"tcp": true, "udp": true, "http": true, "http3": true, "tls": true, "icmp": true, "snmp": true}

var typeNameRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

func parseManifest(data []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.ABI != ABIVersion {
		return m, fmt.Errorf("manifest declares ABI %d; this host speaks ABI %d", m.ABI, ABIVersion)
	}
	if m.Name == "" {
		return m, fmt.Errorf("manifest has no name")
	}
	if m.Mode != modeMultiplexed && m.Mode != modeBlocking {
		return m, fmt.Errorf("manifest mode %q: want %q or %q", m.Mode, modeMultiplexed, modeBlocking)
	}
	if len(m.Types) == 0 {
		return m, fmt.Errorf("manifest declares no check types")
	}
	seen := map[string]bool{}
	for _, t := range m.Types {
		if !typeNameRE.MatchString(t.Name) {
			return m, fmt.Errorf("check type name %q: want lower-case letters, digits, '_', '-', '.'", t.Name)
		}
		if seen[t.Name] {
			return m, fmt.Errorf("check type %q declared twice", t.Name)
		}
		seen[t.Name] = true
		for _, c := range t.Capabilities {
			if !knownCapabilities[c] {
				return m, fmt.Errorf("check type %q asks for unknown capability %q", t.Name, c)
			}
		}
		if len(t.Schema) > 0 && !json.Valid(t.Schema) {
			return m, fmt.Errorf("check type %q: schema is not valid JSON", t.Name)
		}
	}
	for _, c := range m.Capabilities {
		if !knownCapabilities[c] {
			return m, fmt.Errorf("manifest asks for unknown capability %q", c)
		}
	}
	return m, nil
}

// Type returns the named check type.
func (m Manifest) Type(name string) (TypeInfo, bool) {
	for _, t := range m.Types {
		if t.Name == name {
			return t, true
		}
	}
	return TypeInfo{}, false
}

// TypeNames lists the module's check types.
func (m Manifest) TypeNames() []string {
	out := make([]string, len(m.Types))
	for i, t := range m.Types {
		out[i] = t.Name
	}
	return out
}
