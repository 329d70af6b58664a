package hostfuncs

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The reactor: one epoll instance and one goroutine that wait for every
// plain TCP connection with a read in progress (ReadAsync) and every connect
// in progress (connect_linux.go). Each socket is registered one-shot with a
// registration number as its key, never its file descriptor: a closed
// descriptor leaves the epoll set by itself and its number may be reused at
// once, so an event is matched to its waiter by the number. Every epoll_ctl
// on a read's socket happens inside RawConn.Control, which keeps the
// descriptor open (and its number ours) meanwhile; a connecting socket is
// owned by its waiter, which closes it only after unregistering it.
type reactor struct {
	once    sync.Once
	epfd    int
	rc      syscall.RawConn // of epfd as an *os.File in the runtime's poller (it keeps the File alive)
	err     error
	broken  atomic.Bool // the loop ended
	mu      sync.Mutex
	next    uint64
	waiters map[uint64]waiter
}

// waiter is what waits in the reactor: ready is called, on the reactor's
// goroutine, when its socket has an event.
type waiter interface{ ready() }

var theReactor reactor

const reactorEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// reactorConn returns the raw connection of conn when its reads can wait in
// the reactor: a plain *net.TCPConn (not TLS) and a working epoll.
func reactorConn(conn net.Conn) syscall.RawConn {
	tc, ok := conn.(*net.TCPConn)
	if !ok || !theReactor.usable() {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

const errAgain = syscall.EAGAIN

// rawRead makes one non-blocking read(2) on rc: n, and errno from the
// syscall (errAgain: nothing to read yet), or err when the connection is
// closed.
func rawRead(rc syscall.RawConn, buf []byte) (n int, errno, err error) {
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, errno = syscall.Read(int(fd), buf)
			if errno != syscall.EINTR {
				return true // never park: the reactor waits, not this goroutine
			}
		}
	})
	return max(n, 0), errno, err
}

// usable says whether connects and reads can wait in the reactor.
func (r *reactor) usable() bool { return useReactor && r.start() == nil && !r.broken.Load() }

func (r *reactor) start() error {
	r.once.Do(func() {
		r.err = r.open()
		if r.err != nil {
			slog.Warn("hostfuncs: no epoll reactor; TCP connects and reads wait on goroutines", "error", r.err)
			return
		}
		r.waiters = map[uint64]waiter{}
		go r.loop()
	})
	return r.err
}

// open creates the epoll instance and puts it, non-blocking, in the Go
// runtime's own poller: the reactor's goroutine then parks in the scheduler
// like any network wait, rather than in a blocking epoll_wait whose return
// needs a free P (with every P busy running checks, it would queue behind
// them, and each wake-up would cost thread hand-offs).
func (r *reactor) open() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return fmt.Errorf("epoll fd: set non-blocking: %w", err)
	}
	f := os.NewFile(uintptr(epfd), "zappy-reactor") // pollable: it is non-blocking
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		f.Close() // ErrNoDeadline: not in the runtime's poller
		return fmt.Errorf("epoll fd: not pollable: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return fmt.Errorf("epoll fd: %w", err)
	}
	r.epfd, r.rc = epfd, rc
	return nil
}

// register gives w a registration number for its events.
func (r *reactor) register(w waiter) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.waiters[r.next] = w
	return r.next
}

// unregister forgets registration id; its events, if any still come, are
// dropped.
func (r *reactor) unregister(id uint64) {
	r.mu.Lock()
	delete(r.waiters, id)
	r.mu.Unlock()
}

// arm registers ar's socket. Called with ar.mu held.
func (r *reactor) arm(ar *asyncRead) error {
	ar.id = r.register(ar)
	return r.ctl(ar, syscall.EPOLL_CTL_ADD)
}

// rearm waits for the next readiness of ar's socket (registrations are
// one-shot). Called with ar.mu held.
func (r *reactor) rearm(ar *asyncRead) error { return r.ctl(ar, syscall.EPOLL_CTL_MOD) }

// remove unregisters ar. Called with ar.mu held.
func (r *reactor) remove(ar *asyncRead) {
	r.unregister(ar.id)
	// A closed socket has left the set already; Control then fails and
	// there is nothing to do.
	r.ctl(ar, syscall.EPOLL_CTL_DEL)
	ar.id = 0
}

func (r *reactor) ctl(ar *asyncRead, op int) error {
	var errno error
	err := ar.rc.Control(func(fd uintptr) { errno = r.ctlFD(int(fd), op, reactorEvents, ar.id) })
	if err != nil {
		return err
	}
	return errno
}

// ctlFD is epoll_ctl on a descriptor the caller keeps open meanwhile.
func (r *reactor) ctlFD(fd, op int, events uint32, id uint64) error {
	ev := syscall.EpollEvent{Events: events, Fd: int32(id), Pad: int32(id >> 32)}
	if err := syscall.EpollCtl(r.epfd, op, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// loop dispatches events for ever. It drains the epoll instance without
// blocking (timeout 0) and parks in the runtime's poller until the instance
// has events again.
func (r *reactor) loop() {
	events := make([]syscall.EpollEvent, 256)
	for {
		err := r.rc.Read(func(fd uintptr) bool {
			for {
				n, err := syscall.EpollWait(int(fd), events, 0)
				if err == syscall.EINTR {
					continue
				}
				if err != nil {
					// Not expected with a valid epoll descriptor; wait
					// for the next event rather than spin.
					slog.Error("hostfuncs: epoll_wait failed", "error", err)
					time.Sleep(100 * time.Millisecond)
					return false
				}
				r.dispatch(events[:n])
				if n < len(events) {
					return false // drained: wait for the next event
				}
			}
		})
		// Read returns only if the descriptor is closed, which nothing
		// does. New connects and reads then wait on goroutines; those
		// already waiting end by their timeouts.
		r.broken.Store(true)
		slog.Error("hostfuncs: reactor stopped; TCP connects and reads wait on goroutines", "error", err)
		return
	}
}

func (r *reactor) dispatch(events []syscall.EpollEvent) {
	for _, ev := range events {
		id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
		r.mu.Lock()
		w := r.waiters[id]
		r.mu.Unlock()
		if w != nil {
			w.ready()
		}
	}
}
