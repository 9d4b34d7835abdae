// httpd: a net/http server on the address it is given, configured as a healthy service is: its
// reads bounded (ReadHeaderTimeout, IdleTimeout), so a silent client cannot hold a goroutine.
package main

import (
	"net/http"
	"os"
	"time"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello\n"))
	})
	srv := &http.Server{Addr: os.Args[1], ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	if err := srv.ListenAndServe(); err != nil {
		os.Exit(1)
	}
}
