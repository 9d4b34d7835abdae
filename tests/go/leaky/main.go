// leaky: asks a server for 30 pages and never closes their bodies (nor reads them), so each
// response's connection stays open and idle: it cannot go back to the pool. Prints "ready", then
// waits for SIGTERM.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write(make([]byte, 4096)) // the first part of a large body
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})}
	go srv.Serve(ln)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	var bodies []*http.Response
	for i := 0; i < 30; i++ {
		resp, err := client.Get("http://" + ln.Addr().String() + "/big") // the body is never closed
		if err != nil {
			panic(err)
		}
		bodies = append(bodies, resp)
	}
	fmt.Println("ready", os.Getpid(), len(bodies))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
}
