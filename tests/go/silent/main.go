// silent: asks a server for its status and waits for the answer with no deadline.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
)

//go:noinline
func ask(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /status\n")
	fmt.Println("asked", addr)
	return bufio.NewReader(c).ReadString('\n')
}

func main() {
	reply, err := ask(os.Args[1])
	fmt.Println(reply, err)
}
