package state

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errLocked is what tryLock returns when another holder has the lock.
var errLocked = errors.New("locked")

// Lock takes the exclusive lock on the database (the file path+".lock",
// holding the holder's pid), so that two daemons never run the same site:
// they would each send every notification. The lock is an advisory
// flock(2), which the kernel drops when its holder dies, so a kill -9
// leaves no stale lock behind. A second Lock, from this process or another,
// fails with an error naming the path and the holder's pid. unlock (or
// Close) releases it.
func (s *Store) Lock() (unlock func(), err error) {
	p := s.path + ".lock"
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("state: lock %s: %w", p, err)
	}
	if err := tryLock(f); err != nil {
		if errors.Is(err, errLocked) {
			pid := holderPID(f)
			f.Close()
			if pid == "" {
				return nil, fmt.Errorf("state: %s is locked by another process (pid unknown)", s.path)
			}
			return nil, fmt.Errorf("state: %s is locked by pid %s", s.path, pid)
		}
		f.Close()
		return nil, fmt.Errorf("state: lock %s: %w", p, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		releaseLock(f)
		return nil, fmt.Errorf("state: lock %s: writing pid: %w", p, err)
	}
	s.lmu.Lock()
	s.locks[f] = struct{}{}
	s.lmu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.lmu.Lock()
			defer s.lmu.Unlock()
			if _, held := s.locks[f]; held { // Close may have released it
				delete(s.locks, f)
				releaseLock(f)
			}
		})
	}, nil
}

// holderPID reads the pid the holder wrote. The holder writes it just after
// taking the lock, so an empty file is given a moment to fill.
func holderPID(f *os.File) string {
	buf := make([]byte, 32)
	for i := 0; i < 20; i++ {
		n, _ := f.ReadAt(buf, 0)
		if pid := strings.TrimSpace(string(buf[:n])); pid != "" {
			return pid
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ""
}

// releaseLock clears the pid, drops the lock and closes f. The file itself
// stays: removing it would let a process that opened it just before lock a
// file nobody else can find.
func releaseLock(f *os.File) {
	_ = f.Truncate(0)
	_ = unlockFile(f)
	_ = f.Close()
}
