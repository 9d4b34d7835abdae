// A package test that dials a port nothing listens on: under `socklens run -- go test`, the
// refused connect is found at this file's line, though the go command deletes the test binary
// before the report is written.
package dialtest

import (
	"net"
	"testing"
)

func TestDialAClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if c, err := net.Dial("tcp", addr); err == nil { // refused
		c.Close()
		t.Fatal("a closed port accepted a connection")
	}
}
