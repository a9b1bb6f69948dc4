package health

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

func serve(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

func TestThresholds(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	a := serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/healthz" {
			ctx.SetStatusCode(404)
			return
		}
		ctx.SetStatusCode(int(status.Load()))
	})
	b := serve(t, func(ctx *fasthttp.RequestCtx) {})
	c, err := New([]string{a, b}, Options{Path: "/healthz", Healthy: 2, Unhealthy: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var buf [1]uint64
	if c.Eligible(buf[:]) != nil {
		t.Fatal("instances start healthy")
	}
	status.Store(503)
	for i := 0; i < 2; i++ {
		c.CheckNow(ctx)
		if !c.Healthy(0) {
			t.Fatalf("out after %d failures, want 3", i+1)
		}
	}
	c.CheckNow(ctx)
	m := c.Eligible(buf[:])
	if c.Healthy(0) || m == nil || m.Has(0) || !m.Has(1) {
		t.Fatalf("after 3 failures: healthy=%v mask=%v", c.Healthy(0), m)
	}
	status.Store(200)
	c.CheckNow(ctx)
	if c.Healthy(0) {
		t.Fatal("back after 1 pass, want 2")
	}
	c.CheckNow(ctx)
	if !c.Healthy(0) || c.Eligible(buf[:]) != nil {
		t.Fatal("not back after 2 passes")
	}
}

func TestUnreachableInstanceGoesDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	var changes []bool
	c, err := New([]string{dead}, Options{Path: "/", Unhealthy: 1, OnChange: func(i int, healthy bool) {
		if i == 0 {
			changes = append(changes, healthy)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	c.CheckNow(context.Background())
	c.CheckNow(context.Background())
	if c.Healthy(0) {
		t.Fatal("a refused instance must fail its check")
	}
	if len(changes) != 1 || changes[0] {
		t.Fatalf("OnChange must report the one turn to unhealthy: %v", changes)
	}
	if _, err := New(nil, Options{Path: "healthz"}); err == nil {
		t.Fatal("a path without / must be refused")
	}
}
