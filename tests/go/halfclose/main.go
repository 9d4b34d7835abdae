// halfclose: connections ended with a half-close, the orderly way, or aborted after one.
//
//	halfclose graceful: three exchanges where the client shuts down its side, reads the reply to
//	  EOF and closes, and three where the server answers and closes first and the client shuts
//	  down after reading the EOF: no finding.
//	halfclose abort: the client shuts down its side, the server resets the connection (SO_LINGER
//	  0), and the client closes without reading: the reset it was never told of is an error.
//	halfclose abortread: the same, but the client reads and is told (ECONNRESET): an error too.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

func serve(ln net.Listener, first bool, abort bool, done chan<- struct{}) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func(c *net.TCPConn) {
			if abort {
				io.ReadAll(c)
				c.SetLinger(0)
				c.Close()
				done <- struct{}{}
				return
			}
			defer c.Close()
			if first { // answer and close at once: the client reads the EOF before its shutdown
				buf := make([]byte, 5)
				io.ReadFull(c, buf)
				fmt.Fprintf(c, "got %d bytes\n", len(buf))
				return
			}
			req, _ := io.ReadAll(c)
			fmt.Fprintf(c, "got %d bytes\n", len(req))
		}(c.(*net.TCPConn))
	}
}

// tcpState reads the connection's TCP state without touching its pending error
func tcpState(c *net.TCPConn) int {
	raw, _ := c.SyscallConn()
	state := 0
	raw.Control(func(fd uintptr) {
		// the first of tcp_info's bytes is the state
		if v, err := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO); err == nil {
			state = v & 0xff
		}
	})
	return state
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	addr := ln.Addr().String()
	switch os.Args[1] {
	case "graceful":
		go serve(ln, false, false, nil)
		for i := 0; i < 3; i++ {
			c, err := net.Dial("tcp", addr) // the client shuts down first
			if err != nil {
				log.Fatal(err)
			}
			c.Write([]byte("hello"))
			c.(*net.TCPConn).CloseWrite()
			resp, err := io.ReadAll(c)
			if err != nil {
				log.Fatal(err)
			}
			fmt.Print(string(resp))
			c.Close()
		}
		ln.Close()
		ln, _ = net.Listen("tcp", "127.0.0.1:0")
		go serve(ln, true, false, nil)
		for i := 0; i < 3; i++ {
			c, err := net.Dial("tcp", ln.Addr().String()) // the server closes first
			if err != nil {
				log.Fatal(err)
			}
			c.Write([]byte("hello"))
			resp, err := io.ReadAll(c)
			if err != nil {
				log.Fatal(err)
			}
			c.(*net.TCPConn).CloseWrite()
			for t := 0; t < 2000 && tcpState(c.(*net.TCPConn)) != 7; t++ { // LAST_ACK -> CLOSE
				time.Sleep(5 * time.Millisecond)
			}
			fmt.Print(string(resp))
			c.Close()
		}
	case "abort", "abortread":
		done := make(chan struct{})
		go serve(ln, false, true, done)
		c, err := net.Dial("tcp", addr) // the aborted one
		if err != nil {
			log.Fatal(err)
		}
		c.Write([]byte("hello"))
		c.(*net.TCPConn).CloseWrite()
		<-done
		for t := 0; t < 2000 && tcpState(c.(*net.TCPConn)) != 7; t++ { // the reset arrives
			time.Sleep(5 * time.Millisecond)
		}
		if os.Args[1] == "abortread" {
			_, err = io.ReadAll(c) // the program is told: connection reset by peer
			fmt.Println("read:", err)
		} else {
			fmt.Println("closing without reading")
		}
		c.Close()
	}
}
