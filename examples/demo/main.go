// Command demo serves a few services on 127.0.0.1 for trying zappy out:
// HTTP on :8080, HTTPS and HTTP/3 on :8443 (self-signed), an SSH-like banner
// on TCP :2222, a UDP echo on :5353, and a webhook receiver that prints the
// notifications it gets (POST :8080/hook). `make run` starts it next to zappy.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/quic-go/quic-go/http3"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	flag.Parse()
	cert, fp := selfSigned()
	fmt.Printf("demo: HTTP http://%[1]s:8080 (webhook receiver POST /hook)  HTTPS+HTTP/3 https://%[1]s:8443 (sha256 %[2]s)  TCP %[1]s:2222  UDP %[1]s:5353\n", *host, fp)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "zappy demo: all systems nominal") })
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok","version":"1.0"}`)
	})
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/health", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		fmt.Fprintln(w, "finally")
	})
	// /hook is a webhook receiver: zappy run examples/demo.yaml posts its
	// notifications here (outage_webhooks in demo.yaml), and they are printed.
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		fmt.Printf("demo: notification received: %s\n", strings.TrimSpace(string(body)))
	})
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	go serve(func() error { return http.ListenAndServe(*host+":8080", mux) })
	go serve(func() error {
		s := &http.Server{Addr: *host + ":8443", Handler: mux, TLSConfig: tlsCfg}
		return s.ListenAndServeTLS("", "")
	})
	go serve(func() error {
		s := &http3.Server{Addr: *host + ":8443", Handler: mux, TLSConfig: http3.ConfigureTLSConfig(tlsCfg)}
		return s.ListenAndServe()
	})
	go serve(func() error { return banner(*host + ":2222") })
	go serve(func() error { return echo(*host + ":5353") })

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
}

func serve(f func() error) {
	if err := f(); err != nil {
		log.Fatal("demo: ", err)
	}
}

func banner(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			c.Write([]byte("SSH-2.0-zappy-demo\r\n"))
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.Read(make([]byte, 256))
		}()
	}
}

func echo(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		pc.WriteTo(append([]byte("echo: "), buf[:n]...), from)
	}
}

// selfSigned makes a certificate for localhost and 127.0.0.1 valid 30 days.
func selfSigned() (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "zappy demo"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:])
}
