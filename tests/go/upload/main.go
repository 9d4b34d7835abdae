// upload: greets a collector, reads its answer to the end (it hangs up after it), then sends its
// report anyway: the first write is answered by the peer's RST, the next fails with EPIPE
// ("broken pipe"), and Go's runtime takes the SIGPIPE that comes with it.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

//go:noinline
func upload(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte("HELLO\n")); err != nil {
		return err
	}
	if _, err := io.ReadAll(c); err != nil {
		return err
	}
	chunk := make([]byte, 16384)
	for i := 0; i < 1000; i++ {
		if _, err := c.Write(chunk); err != nil { // the upload
			return err
		}
	}
	return nil
}

func main() {
	err := upload(os.Args[1])
	fmt.Println(err)
	if err != nil {
		os.Exit(1)
	}
}
