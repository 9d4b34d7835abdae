// tlsfail: TLS handshakes that fail the ways Go programs meet, server and client in one process.
// usage: tlsfail untrusted|version|plain|http|greeting|silent|clientcert|ok
//
//	untrusted: the server's certificate is self-signed; the client verifies it (x509 error)
//	version:   the client offers TLS 1.2 at most, the server wants TLS 1.3 (protocol_version)
//	plain:     the server does not speak TLS: it reads the hello and hangs up (EOF)
//	http:      ... it answers the hello as net/http's server does a request it cannot parse
//	           ("HTTP/1.1 400 Bad Request") and hangs up
//	greeting:  ... it greets first, as an SMTP server does, reads the hello and hangs up
//	silent:    the server reads the hello and says nothing: the dialer's 2 s timeout ends the
//	           handshake (crypto/tls's interrupter closes the connection; no deadline is set)
//	ok:        a trusted certificate: the handshake succeeds, and a request is answered
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"sync"
	"time"
)

var silent bool
var plaintext string // how a server that does not speak TLS answers: plain, http, greeting

var handlers sync.WaitGroup // the server's connections, waited for before a clean exit

func certificate() (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func serve(ln net.Listener, conf *tls.Config) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		handlers.Add(1)
		go func(c net.Conn) {
			defer handlers.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if conf == nil { // not TLS: read the hello, hang up (or wait for the client to)
				buf := make([]byte, 4096)
				if plaintext == "greeting" {
					io.WriteString(c, "220 mail.example ESMTP\r\n")
				}
				c.Read(buf)
				if plaintext == "http" {
					io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
				}
				if silent {
					c.Read(buf)
				}
				return
			}
			t := tls.Server(c, conf)
			if t.Handshake() != nil {
				return
			}
			buf := make([]byte, 64)
			n, _ := t.Read(buf)
			t.Write(buf[:n])
			io.Copy(io.Discard, t) // until the client's close_notify: nothing unread at close
		}(c)
	}
}

func main() {
	cert, pool := certificate()
	mode := os.Args[1]
	var sconf *tls.Config
	silent = mode == "silent"
	plaintext = mode
	if mode != "plain" && mode != "http" && mode != "greeting" && mode != "silent" {
		sconf = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if mode == "version" {
		sconf.MinVersion = tls.VersionTLS13
	}
	if mode == "clientcert" || mode == "clientcert12" { // a client certificate required: the client has none
		sconf.ClientAuth = tls.RequireAnyClientCert
	}
	if mode == "clientcert12" || mode == "untrusted12" { // TLS 1.2: the alerts go in the clear
		sconf.MaxVersion = tls.VersionTLS12
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go serve(ln, sconf)
	conf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	switch mode {
	case "untrusted", "untrusted12":
		conf.RootCAs = x509.NewCertPool() // trusts nothing: the server's certificate is unknown
	case "version":
		conf.MaxVersion = tls.VersionTLS12
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if silent {
		d.Timeout = 2 * time.Second
	}
	c, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), conf) // the dial under test
	if err != nil {
		fmt.Println("tlsfail:", err)
		handlers.Wait() // the server's side ends too (its deadline bounds it): nothing open at exit
		os.Exit(1)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	c.Close()
	handlers.Wait() // the server sees the close_notify and closes its side: nothing open at exit
	fmt.Println("tlsfail: answered", string(buf), err)
}
