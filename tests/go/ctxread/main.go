// ctxread: a query made the way database drivers make one (lib/pq, pgx, go-redis): the caller's
// context is passed down to the read, which has no deadline of its own on the socket; a goroutine
// watching the context ends the wait when it is done (pgx sets a deadline in the past, lib/pq
// sends a cancel). A server in the same program takes the query and never answers.
//
//	ctxread deadline   the query runs under a 2.5 s context deadline (bounded: no missing-timeout)
//	ctxread none       the same query with context.Background, given up after 2.5 s (unbounded)
package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"time"
)

type conn struct {
	c  net.Conn
	rd *bufio.Reader
}

// query sends q and reads one line of answer, bounded by ctx only.
func (cn *conn) query(ctx context.Context, q string) (string, error) {
	if _, err := cn.c.Write([]byte(q + "\n")); err != nil {
		return "", err
	}
	done := make(chan struct{})
	defer close(done)
	if ctx.Done() != nil {
		go func() { // the driver's context watcher
			select {
			case <-ctx.Done():
				cn.c.SetReadDeadline(time.Unix(1, 0))
			case <-done:
			}
		}()
	}
	line, err := cn.rd.ReadString('\n') // the driver's read
	if err != nil && ctx.Err() != nil {
		return "", ctx.Err()
	}
	return line, err
}

func exec(ctx context.Context, cn *conn, q string) error {
	_, err := cn.query(ctx, q)
	return err
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() { // a server that takes queries and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { bufio.NewReader(c).ReadString('\n'); select {} }()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String()) // the driver's connection
	if err != nil {
		panic(err)
	}
	cn := &conn{c, bufio.NewReader(c)}
	ctx := context.Background()
	if len(os.Args) > 1 && os.Args[1] == "deadline" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2500*time.Millisecond)
		defer cancel()
	} else {
		go func() { time.Sleep(2500 * time.Millisecond); fmt.Println("ctxread: gave up"); os.Exit(1) }()
	}
	if err := exec(ctx, cn, "SELECT pg_sleep(30)"); err != nil { // the program's query
		fmt.Println("ctxread:", err)
		os.Exit(1)
	}
}
