//go:build !unix && !windows

package state

import (
	"fmt"
	"os"
	"runtime"
)

// tryLock fails: this platform has no file locking the store can rely on.
func tryLock(*os.File) error {
	return fmt.Errorf("file locking is not supported on %s", runtime.GOOS)
}

func unlockFile(*os.File) error { return nil }
