package apiclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
				w.WriteHeader(400)
				return
			}
			_, _ = w.Write([]byte(`{"name":"admin"}`))
		case "/json-error":
			w.WriteHeader(403)
			_, _ = w.Write([]byte(`{"error":"no scope","request_id":"r-1"}`))
		case "/text-error":
			w.WriteHeader(502)
			_, _ = w.Write([]byte("bad gateway from a proxy\n"))
		case "/empty-error":
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out struct{ Name string }
	if err := c.Do(ctx, "POST", "/ok", map[string]string{"a": "b"}, &out); err != nil || out.Name != "admin" {
		t.Fatalf("%v %+v", err, out)
	}
	err = c.Do(ctx, "GET", "/json-error", nil, nil)
	if !IsStatus(err, 403) || err.Error() != "no scope (HTTP 403, request r-1)" {
		t.Fatalf("%v", err)
	}
	if err = c.Do(ctx, "GET", "/text-error", nil, nil); !IsStatus(err, 502) || !strings.Contains(err.Error(), "bad gateway from a proxy") {
		t.Fatalf("%v", err)
	}
	if err = c.Do(ctx, "GET", "/empty-error", nil, nil); !IsStatus(err, 404) || !strings.Contains(err.Error(), "Not Found") {
		t.Fatalf("%v", err)
	}
	if _, err := New("localhost:8080", ""); err == nil {
		t.Fatal("URL without scheme accepted")
	}
	dead, _ := New("http://127.0.0.1:1", "")
	if err := dead.Do(ctx, "GET", "/", nil, nil); err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("%v", err)
	}
}
