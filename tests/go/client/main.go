// client: dials the address it is given and says what happened.
package main

import (
	"fmt"
	"net"
	"os"
)

//go:noinline
func fetch(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func main() {
	if err := fetch(os.Args[1]); err != nil {
		fmt.Println("fetch:", err)
		os.Exit(1)
	}
	fmt.Println("fetch: ok")
}
