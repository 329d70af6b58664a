//go:build !unix

package main

import "os"

// maxRSSKB is 0 where the exit status carries no peak memory.
func maxRSSKB(ps *os.ProcessState) int64 { return 0 }
