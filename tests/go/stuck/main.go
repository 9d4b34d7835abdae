// stuck: a service with goroutines stuck on the network in every way a Go engineer meets them,
// for `socklens stuck` and the report to name at their lines. Prints "ready" once every one of
// them is parked, then waits for SIGTERM.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

var parked sync.WaitGroup

// silent accepts connections and holds them, neither reading nor writing.
func silent() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		var held []net.Conn
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln
}

// queueWorker reads its queue's connection with no deadline: it hangs as long as the peer is silent.
func queueWorker(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	parked.Done()
	buf := make([]byte, 512)
	c.Read(buf) // no deadline
}

// patientWorker reads with a ten-minute deadline: a bound, not a hang.
func patientWorker(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Minute))
	parked.Done()
	buf := make([]byte, 512)
	c.Read(buf) // deadline in 10 minutes
}

// uploader writes to a peer that never reads: once the buffers are full, Write waits.
func uploader(addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		panic(err)
	}
	parked.Done()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := c.Write(chunk); err != nil { // blocks when the peer stops reading
			return
		}
	}
}

// fetch asks an upstream that never answers, with an http.Client that has no Timeout.
func fetch(url string) {
	parked.Done()
	resp, err := http.Get(url) // http.DefaultClient: no Timeout
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// mute is an HTTP upstream that reads requests and never answers.
func mute() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { bufio.NewReader(c).ReadString('\n'); select {} }(c)
		}
	}()
	return ln
}

// server is an http.Server with no ReadTimeout nor ReadHeaderTimeout: a client that sends half a
// request holds a goroutine reading forever (slowloris).
func server() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})}
	go srv.Serve(ln)
	return ln
}

func main() {
	hold, upstream, web := silent(), mute(), server()
	parked.Add(6)
	for i := 0; i < 3; i++ {
		go queueWorker(hold.Addr().String())
	}
	go patientWorker(hold.Addr().String())
	go uploader(hold.Addr().String())
	go fetch("http://" + upstream.Addr().String() + "/slow")
	parked.Wait()
	// a slowloris client: half a request, then nothing
	half, err := net.Dial("tcp", web.Addr().String())
	if err != nil {
		panic(err)
	}
	half.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	time.Sleep(500 * time.Millisecond) // let the goroutines reach their waits (they are asserted on, not this)
	fmt.Println("ready", os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
