// Package collector is the program's own code, in its main module but not package main.
package collector

import "example.net/busclient"

// Collect asks the bus, as a metrics collector would.
func Collect(path string) error {
	c, err := busclient.Dial(path) // the program's call
	if err != nil {
		return err
	}
	return c.Close()
}
