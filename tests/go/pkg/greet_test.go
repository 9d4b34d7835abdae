package greet

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(Handler))
	defer srv.Close()
	for i := 0; i < 20; i++ {
		resp, err := http.Get(srv.URL + "/?name=socklens")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "hello, socklens\n" {
			t.Fatalf("got %q", body)
		}
	}
}
