package config_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// BenchmarkConfigsNotModified: the read an Apollo client makes most, GET
// /configs with its current release key (a 304), with a bearer token,
// through the Mux in this goroutine (no socket).
func BenchmarkConfigsNotModified(b *testing.B) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	svc := auth.NewService(st)
	admin, err := svc.Bootstrap(context.Background(), filepath.Join(b.TempDir(), "t"))
	if err != nil {
		b.Fatal(err)
	}
	fn, err := config.New(config.Options{Store: st, Tokens: svc, PollTimeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = fn.Run(ctx) }()
	<-fn.Ready()
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		b.Fatal(err)
	}
	ns := "/api/v1/config/apps/shop/clusters/default/namespaces/application"
	callMux(mux, "PUT", ns+"/items/a", admin, `{"value":"1"}`)
	callMux(mux, "POST", ns+"/releases", admin, `{}`)
	first := callMux(mux, "GET", "/configs/shop/default/application", admin, "")
	var c config.ApolloConfig
	if err := json.Unmarshal(first.Response.Body(), &c); err != nil || c.ReleaseKey == "" {
		b.Fatalf("first read: %d %s", first.Response.StatusCode(), first.Response.Body())
	}
	uri := "/configs/shop/default/application?releaseKey=" + c.ReleaseKey + "&ip=10.0.0.1"
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := callMux(mux, "GET", uri, admin, ""); r.Response.StatusCode() != 304 {
			b.Fatalf("%d %s", r.Response.StatusCode(), r.Response.Body())
		}
	}
}
