//go:build !unix

package hostfuncs

import "testing"

// unameDescr: net-snmp's sysDescr is uname's, which this platform lacks.
func unameDescr(t testing.TB) string {
	t.Skip("no uname(2) here to compare net-snmp's sysDescr with")
	return ""
}
