//go:build unix

package main

import (
	"os"
	"syscall"
)

// maxRSSKB is the peak resident memory of an exited process, in KiB on
// Linux (getrusage's ru_maxrss).
func maxRSSKB(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss
	}
	return 0
}
