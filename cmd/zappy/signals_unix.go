//go:build unix

package main

import (
	"os"
	"syscall"
)

// reloadSignal makes the daemon reload its configuration; statusSignal
// makes it write its state table.
var reloadSignal, statusSignal os.Signal = syscall.SIGHUP, syscall.SIGUSR1
