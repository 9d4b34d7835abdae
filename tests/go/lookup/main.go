// lookup: resolves each name it is given with Go's own resolver and says what it got.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	for _, name := range os.Args[1:] {
		addrs, err := net.LookupHost(name) // the lookup
		fmt.Println(name, addrs, err)
	}
}
