// hangnth: a keep-alive HTTP client and a server that never answers its Nth request.
//
//	hangnth server PORTFILE N [slow] serves on 127.0.0.1; the Nth request on each connection is
//	                                  never answered (slow: answered after 2.5 s)
//	hangnth client ADDR REQUESTS HOW [SECONDS]
//	                                  one keep-alive connection, requests back to back; HOW bounds
//	                                  each request: timeout (Client.Timeout), context (a context
//	                                  deadline), both SECONDS long (2 unless said), or none (it waits
//	                                  as long as the server likes)
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func serve(portfile string, hangAt int, slow bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	never := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.RemoteAddr]++
		n := seen[r.RemoteAddr]
		mu.Unlock()
		if n == hangAt && slow {
			time.Sleep(2500 * time.Millisecond)
		} else if n == hangAt {
			<-never
		}
		fmt.Fprintf(w, "answer %d\n", n)
	})
	os.WriteFile(portfile+".tmp", []byte(strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), 0o644)
	os.Rename(portfile+".tmp", portfile)
	http.Serve(ln, h)
}

func fetch(c *http.Client, ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(resp.Body)
	return err
}

func main() {
	if os.Args[1] == "server" {
		n, _ := strconv.Atoi(os.Args[3])
		serve(os.Args[2], n, len(os.Args) > 4 && os.Args[4] == "slow")
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
	for i := 1; i <= requests; i++ {
		ctx, cancel := context.Background(), func() {}
		if how == "context" {
			ctx, cancel = context.WithTimeout(context.Background(), bound)
		}
		err := fetch(c, ctx, url)
		cancel()
		if err != nil {
			fmt.Println("request", i, "failed:", err)
			os.Exit(1)
		}
	}
	fmt.Println("all answered")
}
