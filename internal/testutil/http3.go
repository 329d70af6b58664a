package testutil

import (
	"net"
	"net/http"
	"testing"

	"github.com/quic-go/quic-go/http3"
)

// ServeHTTP3 serves handler over HTTP/3 on a UDP socket of 127.0.0.1,
// presenting leaf, and returns its https:// base URL. When the test ends it
// closes the server and the socket and waits for Serve to return.
func ServeHTTP3(t testing.TB, handler http.Handler, leaf *Leaf) string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http3.Server{Handler: handler, TLSConfig: http3.ConfigureTLSConfig(leaf.ServerConfig())}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(conn)
	}()
	t.Cleanup(func() {
		srv.Close()
		conn.Close()
		<-served
	})
	return "https://" + conn.LocalAddr().String()
}
