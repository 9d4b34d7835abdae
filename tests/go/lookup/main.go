// lookup: resolves each name it is given with Go's own resolver and says what it got; a name
// written dial:NAME is dialled instead (net.Dial looks it up through a shared lookup).
package main

import (
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
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
