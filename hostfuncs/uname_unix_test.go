//go:build unix

package hostfuncs

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unameDescr is what net-snmp reports as sysDescr on Linux.
func unameDescr(t testing.TB) string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return strings.Join([]string{unix.ByteSliceToString(u.Sysname[:]), unix.ByteSliceToString(u.Nodename[:]),
		unix.ByteSliceToString(u.Release[:]), unix.ByteSliceToString(u.Version[:]), unix.ByteSliceToString(u.Machine[:])}, " ")
}
