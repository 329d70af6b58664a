//go:build linux

package hostfuncs

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestReadAsyncParksWithoutGoroutines parks many reads at once and checks
// that they hold no goroutine while they wait (the point of the reactor),
// then ends them in the three ways a read ends: data arriving, its timeout,
// and Close.
func TestReadAsyncParksWithoutGoroutines(t *testing.T) {
	if err := theReactor.start(); err != nil {
		t.Skipf("no epoll reactor: %v", err)
	}
	const n = 300 // a third each: answered, timed out, closed
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// One goroutine serves every connection, so that the server adds no
	// goroutine per connection either.
	accepted := make(chan []net.Conn, 1)
	go func() {
		var conns []net.Conn
		for len(conns) < n {
			c, err := ln.Accept()
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		accepted <- conns
	}()
	clients := make([]*TCPConn, n)
	for i := range clients {
		clients[i] = connect(t, ln.Addr().String())
	}
	servers := <-accepted
	defer func() {
		for _, c := range servers {
			c.Close()
		}
	}()
	// Accept order may differ from connect order: pair them by address.
	byLocal := map[string]net.Conn{}
	for _, c := range servers {
		byLocal[c.RemoteAddr().String()] = c
	}

	type outcome struct {
		i    int
		data string
		err  error
	}
	results := make(chan outcome, n)
	runtime.GC()
	before := runtime.NumGoroutine()
	for i, c := range clients {
		req := TCPReadRequest{Mode: "line", TimeoutMS: 20000}
		if i%3 == 1 {
			req.TimeoutMS = 200
		}
		c.ReadAsync(context.Background(), req, func(data []byte, _ TCPReadResponse, err error) {
			results <- outcome{i, string(data), err}
		})
	}
	if grown := runtime.NumGoroutine() - before; grown > 10 {
		t.Fatalf("%d reads parked with %d more goroutines; want them waiting in the reactor", n, grown)
	}
	for i, c := range clients {
		switch i % 3 {
		case 0:
			fmt.Fprintf(byLocal[c.local], "line %d\n", i)
		case 2:
			c.Close()
		}
	}
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case o := <-results:
			switch o.i % 3 {
			case 0:
				if want := fmt.Sprintf("line %d\n", o.i); o.err != nil || o.data != want {
					t.Errorf("read %d = %q, %v; want %q", o.i, o.data, o.err, want)
				}
			case 1:
				wantCode(t, o.err, CodeTimeout)
			case 2:
				wantCode(t, o.err, CodeCanceled)
			}
		case <-deadline:
			t.Fatal("reads did not all end")
		}
	}
	theReactor.mu.Lock()
	left := len(theReactor.waiters)
	theReactor.mu.Unlock()
	if left != 0 {
		t.Errorf("%d reads still registered with the reactor", left)
	}
}
