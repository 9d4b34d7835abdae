// upload [-tls] ADDR: greets a collector, reads its answer to the end (it hangs up after it), then
// sends its report anyway: the first write is answered by the peer's RST, the next fails with
// EPIPE ("broken pipe"), and Go's runtime takes the SIGPIPE that comes with it.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
)

//go:noinline
func upload(addr string, secure bool) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	if secure { // -tls: the same over TLS, whose Close writes a close_notify that fails too
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true})
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
	secure := len(os.Args) > 2 && os.Args[1] == "-tls"
	err := upload(os.Args[len(os.Args)-1], secure)
	fmt.Println(err)
	if err != nil {
		os.Exit(1)
	}
}
