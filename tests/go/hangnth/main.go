// hangnth: a keep-alive HTTP client and a server that never answers its Nth request.
//
//	hangnth server PORTFILE N [slow|reset|panic]
//	                                  serves on 127.0.0.1; the Nth request on each connection is
//	                                  never answered (slow: answered after 2.5 s; reset: the
//	                                  connection is reset instead, as a server closing an idle
//	                                  connection just as a request comes in does; panic: the
//	                                  handler panics on the Nth request and every one after,
//	                                  counted over all connections, and net/http's server hangs
//	                                  up on each); PORTFILE.hung
//	                                  is written once the Nth request came
//	hangnth client ADDR REQUESTS HOW [SECONDS]
//	                                  one keep-alive connection, requests back to back; HOW bounds
//	                                  each request: timeout (Client.Timeout), context (a context
//	                                  deadline), both SECONDS long (2 unless said), none (it waits
//	                                  as long as the server likes), or poll (a long poll: no bound,
//	                                  but SIGTERM cancels the request and the program exits 0)
//	hangnth noread PORTFILE 0         accepts connections and never reads them
//	hangnth upload ADDR 0             PUTs 16 MiB under a 4 s Client.Timeout
//	hangnth waitfor - N               dials a port nothing listens on N times (refused), then
//	                                  listens there itself and dials again: a wait for a service
//	hangnth rawserver PORTFILE N      a line protocol: each line answered, but the Nth
//	hangnth rawclient ADDR REQUESTS   one connection, a line at once after each answer, each read
//	                                  under a 2 s deadline
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func listen(portfile string) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	os.WriteFile(portfile+".tmp", []byte(strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), 0o644)
	os.Rename(portfile+".tmp", portfile)
	return ln
}

func serve(portfile string, hangAt int, how string) {
	ln := listen(portfile)
	var mu sync.Mutex
	seen := map[string]int{}
	never := make(chan struct{})
	total := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.RemoteAddr]++
		n := seen[r.RemoteAddr]
		total++
		all := total
		mu.Unlock()
		switch {
		case all >= hangAt && how == "panic":
			panic("the handler's bug")
		case n == hangAt && how == "slow":
			time.Sleep(2500 * time.Millisecond)
		case n == hangAt && how == "reset":
			c, _, _ := w.(http.Hijacker).Hijack()
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
			return
		case n == hangAt:
			os.WriteFile(portfile+".hung", []byte("hung\n"), 0o644)
			<-never
		}
		fmt.Fprintf(w, "answer %d\n", n)
	})
	http.Serve(ln, h)
}

func rawServe(portfile string, hangAt int) {
	ln := listen(portfile)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c net.Conn) {
			defer c.Close()
			r := bufio.NewReader(c)
			for n := 1; ; n++ {
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				if n != hangAt {
					fmt.Fprintf(c, "answer %d\n", n)
				}
			}
		}(c)
	}
}

func noRead(portfile string) {
	ln := listen(portfile)
	var held []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		held = append(held, c) // never read, never closed
	}
}

func upload(addr string) {
	c := &http.Client{Timeout: 4 * time.Second}
	body := strings.NewReader(strings.Repeat("x", 16<<20))
	req, _ := http.NewRequest("PUT", "http://"+addr+"/backup", body)
	resp, err := c.Do(req) // the upload
	if err != nil {
		fmt.Println("upload failed:", err)
		os.Exit(1)
	}
	resp.Body.Close()
}

func waitFor(tries int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr) // the wait
		if err == nil {
			fmt.Fprintf(c, "hello\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			fmt.Println("connected after", i, "refusals:", strings.TrimSpace(line))
			return
		}
		if i+1 == tries { // the service comes up
			if ln, err = net.Listen("tcp", addr); err != nil {
				panic(err)
			}
			go func() {
				c, _ := ln.Accept()
				r := bufio.NewReader(c)
				r.ReadString('\n')
				fmt.Fprintf(c, "welcome\n")
				c.Close()
			}()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func rawClient(addr string, requests int) {
	c, err := net.Dial("tcp", addr) // the line protocol client
	if err != nil {
		panic(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for i := 1; i <= requests; i++ {
		fmt.Fprintf(c, "request %d\n", i)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := r.ReadString('\n'); err != nil {
			fmt.Println("request", i, "failed:", err)
			os.Exit(1)
		}
	}
	fmt.Println("all answered")
}

func fetch(c *http.Client, ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req) // the request
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

func main() {
	n, _ := strconv.Atoi(os.Args[3])
	switch os.Args[1] {
	case "server":
		how := ""
		if len(os.Args) > 4 {
			how = os.Args[4]
		}
		serve(os.Args[2], n, how)
		return
	case "rawserver":
		rawServe(os.Args[2], n)
		return
	case "rawclient":
		rawClient(os.Args[2], n)
		return
	case "noread":
		noRead(os.Args[2])
		return
	case "upload":
		upload(os.Args[2])
		return
	case "waitfor":
		waitFor(n)
		return
	}
	url := "http://" + os.Args[2] + "/"
	requests, _ := strconv.Atoi(os.Args[3])
	fmt.Println("ready", os.Getpid())
	how := os.Args[4]
	bound := 2 * time.Second
	if len(os.Args) > 5 {
		s, _ := strconv.Atoi(os.Args[5])
		bound = time.Duration(s) * time.Second
	}
	c := &http.Client{}
	if how == "timeout" {
		c.Timeout = bound
	}
	stop := context.Background()
	if how == "poll" {
		stop, _ = signal.NotifyContext(stop, syscall.SIGTERM)
	}
	for i := 1; i <= requests; i++ {
		ctx, cancel := context.Background(), func() {}
		if how == "context" {
			ctx, cancel = context.WithTimeout(context.Background(), bound)
		} else if how == "poll" {
			ctx = stop
		}
		err := fetch(c, ctx, url)
		cancel()
		if err != nil && stop.Err() != nil {
			fmt.Println("stopped while request", i, "waited")
			return
		}
		if err != nil {
			fmt.Println("request", i, "failed:", err)
			os.Exit(1)
		}
	}
	fmt.Println("all answered")
}
