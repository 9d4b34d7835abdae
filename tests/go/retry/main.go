// retry: a Go client with a retry loop. "hang" dials with net.Dial (no timeout) until it gets
// through; "fixed" dials with net.DialTimeout(1s), three tries, a pause between them; "get" makes
// one http.Get and prints the status or the error.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := os.Args[2]
	switch os.Args[1] {
	case "hang":
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				return
			}
			fmt.Println("retrying after", err)
		}
	case "fixed":
		for i := 1; i <= 3; i++ {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				fmt.Println("connected")
				return
			}
			fmt.Println("attempt", i, "failed:", err)
			time.Sleep(time.Duration(i) * 200 * time.Millisecond)
		}
		os.Exit(1)
	case "get":
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			fmt.Println("get:", err)
			os.Exit(1)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Println("get:", resp.Status, n, err)
	}
}
