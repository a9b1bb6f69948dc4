// Package gatewaytest runs real gateways in tests: Start binds a random
// loopback port and shuts the gateway down at test cleanup; Do sends one
// request and returns a copy of the response.
package gatewaytest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/internal/redact"
)

// Start runs a gateway over fns on opts.Listen (127.0.0.1:0 when empty) until
// the test ends; a failed drain or a Run error fails the test.
func Start(t testing.TB, opts gateway.Options, fns gateway.Functions) *gateway.Gateway {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	g, err := gateway.New(opts, fns)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return g
}

// Response is a copy of what the gateway answered.
type Response struct {
	Status int
	Header map[string]string
	Body   []byte
}

// Get returns a response header's value, matching the name case-insensitively.
func (r Response) Get(name string) string {
	for k, v := range r.Header {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// String returns the body.
func (r Response) String() string { return string(r.Body) }

// Do sends one request to the gateway at addr. Headers with an empty value are
// not sent; a non-empty body is sent as JSON. The path is sent as is, not normalised.
func Do(t testing.TB, addr, method, path string, hdr map[string]string, body string) Response {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + path)
	req.URI().DisablePathNormalizing = true
	req.Header.SetMethod(method)
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
		if strings.EqualFold(k, "Host") && v != "" {
			req.UseHostHeader = true // send this Host, not the address dialled
		}
	}
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentType("application/json")
	}
	c := &fasthttp.Client{DialDualStack: true}
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	out := Response{Status: resp.StatusCode(), Header: map[string]string{}, Body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		out.Header[string(k)] = string(v)
	}
	NoSecrets(t, out)
	return out
}

// NoSecrets fails the test when an error answer holds a Wharf token: no
// bad input may get a credential echoed back (Do checks every answer).
func NoSecrets(t testing.TB, r Response) {
	t.Helper()
	if r.Status >= 400 && redact.HasToken(string(r.Body)) {
		t.Errorf("the %d answer holds a token: %s", r.Status, r.Body)
	}
}
