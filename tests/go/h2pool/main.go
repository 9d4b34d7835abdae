// h2pool: healthy HTTP clients that leave connections idle or close them as servers do:
//   - an HTTP/2 client (TLS) fetching three 1 MiB bodies, then idle past two of the tracer's
//     samples (its connection's reader reads frames all along; the client sent WINDOW_UPDATEs last);
//   - one request to each of two HTTP/1.1 servers, each connection then idle in the pool;
//   - three HTTPS requests to a server with keep-alives off (each connection ends with the
//     server's close_notify and FIN crossing the client's close_notify);
//   - four HTTPS requests at once to a server answering each 1.5 s later (across a tracer's
//     sample), then the server closed with the client's connections idle: both sides' goodbyes
//     cross within milliseconds of the answers.
//
// Every request succeeds and the program exits 0 with its pooled connections open.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"
)

func server(h2, keepAlive bool, size int) *httptest.Server {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", size))
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s.Listener = ln
	s.Config.ReadHeaderTimeout = 5 * time.Second
	s.Config.IdleTimeout = 30 * time.Second
	s.Config.SetKeepAlivesEnabled(keepAlive)
	if h2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else if !keepAlive {
		s.StartTLS()
	} else {
		s.Start()
	}
	return s
}

func get(c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func main() {
	insecure := &tls.Config{InsecureSkipVerify: true}
	h2 := server(true, true, 1<<20)
	c2 := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: insecure, ForceAttemptHTTP2: true}}
	for i := 0; i < 3; i++ {
		get(c2, h2.URL)
	}
	c1 := &http.Client{Timeout: 10 * time.Second}
	for _, s := range []*httptest.Server{server(false, true, 100), server(false, true, 100)} {
		get(c1, s.URL)
	}
	closing := server(false, false, 100)
	cc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: insecure}}
	for i := 0; i < 3; i++ {
		get(cc, closing.URL)
	}
	slow := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		io.WriteString(w, "late, within the client's bound")
	}))
	slow.StartTLS()
	sc := slow.Client()
	sc.Timeout = 10 * time.Second
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(sc, slow.URL) // the slow answers
		}()
	}
	wg.Wait()
	slow.Close() // its connections, then the client's idle ones
	time.Sleep(2500 * time.Millisecond) // idle across two of the tracer's samples: what is looked at
	fmt.Println("all answered")
}
