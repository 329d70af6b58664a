package hostfuncs

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// The reactor: one epoll instance and one goroutine that wait for every
// plain TCP connection with a read in progress (ReadAsync). Each socket is
// registered one-shot with a registration number as its key, never its file
// descriptor: a closed descriptor leaves the epoll set by itself and its
// number may be reused at once, so an event is matched to its read by the
// number, and every epoll_ctl on a socket happens inside RawConn.Control,
// which keeps the descriptor open (and its number ours) meanwhile.
type reactor struct {
	once  sync.Once
	epfd  int
	err   error
	mu    sync.Mutex
	next  uint64
	reads map[uint64]*asyncRead
}

var theReactor reactor

const reactorEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// reactorConn returns the raw connection of conn when its reads can wait in
// the reactor: a plain *net.TCPConn (not TLS) and a working epoll.
func reactorConn(conn net.Conn) syscall.RawConn {
	tc, ok := conn.(*net.TCPConn)
	if !ok || !useReactor || theReactor.start() != nil {
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

func (r *reactor) start() error {
	r.once.Do(func() {
		r.epfd, r.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if r.err != nil {
			slog.Warn("hostfuncs: no epoll reactor; TCP reads wait on goroutines", "error", r.err)
			return
		}
		r.reads = map[uint64]*asyncRead{}
		go r.loop()
	})
	return r.err
}

// arm registers ar's socket. Called with ar.mu held.
func (r *reactor) arm(ar *asyncRead) error {
	r.mu.Lock()
	r.next++
	ar.id = r.next
	r.reads[ar.id] = ar
	r.mu.Unlock()
	return r.ctl(ar, syscall.EPOLL_CTL_ADD)
}

// rearm waits for the next readiness of ar's socket (registrations are
// one-shot). Called with ar.mu held.
func (r *reactor) rearm(ar *asyncRead) error { return r.ctl(ar, syscall.EPOLL_CTL_MOD) }

// remove unregisters ar. Called with ar.mu held.
func (r *reactor) remove(ar *asyncRead) {
	r.mu.Lock()
	delete(r.reads, ar.id)
	r.mu.Unlock()
	// A closed socket has left the set already; Control then fails and
	// there is nothing to do.
	r.ctl(ar, syscall.EPOLL_CTL_DEL)
	ar.id = 0
}

func (r *reactor) ctl(ar *asyncRead, op int) error {
	ev := syscall.EpollEvent{Events: reactorEvents, Fd: int32(ar.id), Pad: int32(ar.id >> 32)}
	var errno error
	err := ar.rc.Control(func(fd uintptr) { errno = syscall.EpollCtl(r.epfd, op, int(fd), &ev) })
	if err != nil {
		return err
	}
	if errno != nil {
		return fmt.Errorf("epoll_ctl: %w", errno)
	}
	return nil
}

func (r *reactor) loop() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(r.epfd, events, -1)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			// Not expected with a valid epoll descriptor; keep going
			// rather than strand every waiting read, without spinning.
			slog.Error("hostfuncs: epoll_wait failed", "error", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			r.mu.Lock()
			ar := r.reads[id]
			r.mu.Unlock()
			if ar != nil {
				ar.ready()
			}
		}
	}
}
