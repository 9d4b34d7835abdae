// stream: a client reading a server-sent stream (an event every 2.5 s, three of them) from a
// server in the same process, the way a watch or a subscription reads:
//
//	stream bounded    the request has a 30 s context deadline (no Client.Timeout: it would cut
//	                  the stream), so each wait for the next event is bounded
//	stream unbounded  no deadline, no Timeout: a silent server would hold the read forever
//
// Prints "ready PID" first and "events N" at the end.
package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			for i := 1; i <= 3; i++ {
				fmt.Fprintf(w, "data: event %d\n\n", i)
				w.(http.Flusher).Flush()
				time.Sleep(2500 * time.Millisecond)
			}
			fmt.Fprintf(w, "data: done\n\n")
		})}
	go srv.Serve(ln)
	fmt.Println("ready", os.Getpid())
	ctx := context.Background()
	if os.Args[1] == "bounded" {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+"/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	sc := bufio.NewScanner(resp.Body)
	events := 0
	for sc.Scan() { // the stream's read
		if sc.Text() == "data: done" {
			break
		}
		if strings.HasPrefix(sc.Text(), "data: ") {
			events++
		}
	}
	resp.Body.Close()
	fmt.Println("events", events)
}
