package testutil

import (
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// CPUTime is the CPU time (user and system) the process has used.
func CPUTime() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user); err != nil {
		return 0
	}
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration(ticks(kernel)+ticks(user)) * 100 // 100 ns units
}

// RaiseNoFile does nothing on Windows, which has no per-process limit on
// open sockets to raise.
func RaiseNoFile(t testing.TB, n uint64) {}
