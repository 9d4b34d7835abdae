// lookup: resolves each name it is given with Go's own resolver and says what it got; a name
// written dial:NAME is dialled instead (net.Dial looks it up through a shared lookup); after
// -parallel, all are looked up at once.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// parallel looks every name up at once, each under a deadline (a context that can end: a cgo
// build then asks glibc from a goroutine of its own).
func parallel(names []string) {
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			addrs, err := net.DefaultResolver.LookupHost(ctx, name) // the parallel lookup
			fmt.Println(name, addrs, err)
		}(name)
	}
	wg.Wait()
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-parallel" {
		parallel(os.Args[2:])
		return
	}
	for _, name := range os.Args[1:] {
		if strings.HasPrefix(name, "dial:") {
			host := strings.TrimPrefix(name, "dial:")
			_, err := net.Dial("tcp", host+":80") // the dial
			fmt.Println(host, err)
			continue
		}
		addrs, err := net.LookupHost(name) // the lookup
		fmt.Println(name, addrs, err)
	}
}
