// fanout: eight goroutines, started by one loop, each asking a refused address over net/http at
// once: the dials run on the Transport's goroutines, for callers all parked at the same line.
package main

import (
	"fmt"
	"net/http"
	"os"
	"sync"
)

func main() {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := http.Get(os.Args[1]) // the fan-out's request
			fmt.Println(err != nil)
		}()
	}
	wg.Wait()
}
