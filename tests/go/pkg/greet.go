// Package greet serves a greeting over HTTP; its test runs a real server with httptest.
package greet

import "net/http"

func Handler(w http.ResponseWriter, r *http.Request) {
	w.Write([]byte("hello, " + r.URL.Query().Get("name") + "\n"))
}
