// deps: a program whose socket is made by a dependency's code (another module) called from a
// package of its own module: findings name the program's call, not the library's frames.
package main

import (
	"fmt"
	"os"

	"example.com/deps/collector"
)

func main() {
	fmt.Println(collector.Collect(os.Args[1]))
}
