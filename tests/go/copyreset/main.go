// copyreset: downloads from a server with io.Copy, which the compiler inlines into the caller: a
// reset met inside it is reported at the caller's own line, not at io.go's under the caller's name.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

//go:noinline
func download(addr string) (int64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /status\n")
	return io.Copy(io.Discard, c) // the copy
}

func main() {
	n, err := download(os.Args[1])
	fmt.Println(n, err)
}
