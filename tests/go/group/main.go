// group: three requests made side by side, as errgroup makes them, to a server in the same
// process that answers /a and /b after 5 s and /fail with a 500 after 1.5 s (3 s when the
// requests have a 1.5 s bound, so that all three time out whatever the scheduling).
//
//	group cancel    the requests share a context with no deadline that the first failure
//	                cancels: /a and /b are cancelled by the program's own logic after 1.5 s
//	group deadline  ... a context with a 1.5 s deadline: all three time out
//	group timeout   no context, an http.Client with a 1.5 s Timeout: all three time out
//
// The program prints the group's first error and exits 1.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func serve(failAfter time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/fail" {
				time.Sleep(failAfter)
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done(): // the client went: stop at once
			}
			io.WriteString(w, "done\n")
		})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String()
}

func main() {
	failAfter := 1500 * time.Millisecond
	if os.Args[1] != "cancel" {
		failAfter = 3 * time.Second
	}
	base := serve(failAfter)
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{}
	switch os.Args[1] {
	case "deadline":
		ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
	case "timeout":
		ctx = context.Background()
		client.Timeout = 1500 * time.Millisecond
	}
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, path := range []string{"/a", "/b", "/fail"} {
		wg.Add(1)
		go func(path string) {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
			resp, err := client.Do(req) // the group's request
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("%s: %s", path, resp.Status)
				}
			}
			if err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(path)
	}
	wg.Wait()
	fmt.Println("group:", first)
	os.Exit(1)
}
