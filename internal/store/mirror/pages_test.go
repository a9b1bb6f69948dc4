package mirror_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/mirror"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestMirrorListsAcrossPages: a prefix longer than a page is mirrored
// whole, and the watch goes on from the first page's revision, on both
// engines.
func TestMirrorListsAcrossPages(t *testing.T) {
	bunt, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bunt.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rds, err := redisstore.Open(ctx, redisstore.Options{Addr: testenv.StartRedis(t).Addr, Namespace: "mirrorpages"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rds.Close() })
	for name, st := range map[string]store.Store{"buntdb": bunt, "redis": rds} {
		t.Run(name, func(t *testing.T) { testAcrossPages(t, st) })
	}
}

func testAcrossPages(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	want := map[string]string{}
	for i := range 7 { // pages of 3: 3, 3, 1
		k := fmt.Sprintf("pg/%d", i)
		if _, err := st.Put(ctx, k, []byte(k), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		want[k] = k
	}
	var mu sync.Mutex
	var last map[string][]byte
	m, err := mirror.New(st, mirror.Options{Prefix: "pg/", PageSize: 3, OnChange: func(e map[string][]byte) {
		mu.Lock()
		last = e
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-m.Ready()
	check := func() {
		t.Helper()
		testenv.Eventually(t, 5*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(last) != len(want) {
				return fmt.Errorf("have %d keys, want %d: %q", len(last), len(want), last)
			}
			for k, v := range want {
				if string(last[k]) != v {
					return fmt.Errorf("%s = %q, want %q", k, last[k], v)
				}
			}
			return nil
		})
	}
	check()
	if _, err := st.Put(ctx, "pg/0", []byte("changed"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	want["pg/0"] = "changed"
	check()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
