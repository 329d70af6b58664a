//go:build !unix

package main

import "os"

// Neither signal exists here: the daemon still reloads when a
// configuration file is saved.
var reloadSignal, statusSignal os.Signal
