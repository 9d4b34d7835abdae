// manyg N: a Go service with N goroutines: N/2 parked reading connections that never speak, N/2
// parked in a select, and one http.Client round trip to a silent upstream (which makes socklens
// read every goroutine to find the program's wait behind it). Prints "ready PID" and waits.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	held := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	for i := 0; i < n/2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		go func(c net.Conn) { c.Read(make([]byte, 1)) }(c)
		go func() { select {} }()
	}
	go http.Get("http://" + ln.Addr().String() + "/") // the accept loop holds it: never answered
	time.Sleep(time.Second)
	fmt.Println("ready", os.Getpid())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
