// nss: a healthy cgo program that asks glibc's name services for its user and a host name (glibc
// tries nscd's socket first and does without it): no finding.
package main

import (
	"fmt"
	"net"
	"os/user"
)

func main() {
	u, err := user.Current()
	if err != nil {
		fmt.Println("user:", err)
		return
	}
	addrs, err := net.LookupHost("localhost")
	fmt.Println("user", u.Username, "localhost", addrs, err)
}
