// server: keeps every connection it accepts and never closes them; N clients of its own come and
// go, then it runs on for a moment and exits.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

var held []net.Conn

func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		held = append(held, c) // the bug: never closed
	}
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	go serve(ln)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		c.Write([]byte("hello\n"))
		c.Close()
	}
	time.Sleep(1500 * time.Millisecond)
	fmt.Println("served", n)
}
