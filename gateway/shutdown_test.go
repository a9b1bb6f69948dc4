package gateway_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/tlsconf"
	"github.com/wharfhq/wharf/gateway/tlsconf/tlstest"
)

// TestSilentConnectionDoesNotHoldUpShutdown: a client connection that
// never sent a byte (HTTP clients leave such connections in their pools,
// e.g. Go's when a dial loses the race to a connection freed meanwhile)
// has no request to drain; a graceful shutdown closes it instead of
// waiting for the read timeout. It failed before: "context deadline
// exceeded" after 2 s.
func TestSilentConnectionDoesNotHoldUpShutdown(t *testing.T) {
	g, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0"}, echoFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	c, err := net.Dial("tcp", g.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Wait until the gateway serves the connection: a request on another
	// connection is answered after this one was accepted.
	if r := gatewaytest.Do(t, g.Addr().String(), "GET", "/api/x", nil, ""); r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestSilentTLSConnectionDoesNotHoldUpShutdown: the same over TLS, where
// the handshake bytes are no request.
func TestSilentTLSConnectionDoesNotHoldUpShutdown(t *testing.T) {
	ca := tlstest.NewCA(t)
	cert, key := ca.Write(t, t.TempDir(), "shop", "shop.example.com")
	g, err := gateway.New(gateway.Options{Listen: "127.0.0.1:0", TLS: &gateway.TLSOptions{
		Listen: "127.0.0.1:0", Pairs: []tlsconf.Pair{{CertFile: cert, KeyFile: key}},
	}}, echoFunctions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	silent := ca.Dial(t, g.TLSAddr().String(), "shop.example.com") // handshake done, no request
	defer silent.Close()
	busy := ca.Dial(t, g.TLSAddr().String(), "shop.example.com")
	defer busy.Close()
	if r := roundTrip(t, busy, "shop.example.com", "/api/x"); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
