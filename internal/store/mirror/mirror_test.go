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
	"github.com/wharfhq/wharf/internal/testenv"
)

func TestMirrorFollowsPutsDeletesAndExpiry(t *testing.T) {
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A key before the mirror starts, one outside the prefix.
	if _, err := st.Put(ctx, "reg/a", []byte("1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "other/x", []byte("x"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var last map[string][]byte
	m, err := mirror.New(st, mirror.Options{Prefix: "reg/", OnChange: func(e map[string][]byte) {
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
	want := func(expect map[string]string) {
		t.Helper()
		testenv.Eventually(t, 5*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if len(last) != len(expect) {
				return fmt.Errorf("have %d keys, want %d: %q", len(last), len(expect), last)
			}
			for k, v := range expect {
				if string(last[k]) != v {
					return fmt.Errorf("%s = %q, want %q", k, last[k], v)
				}
			}
			return nil
		})
	}
	want(map[string]string{"reg/a": "1"})
	if _, err := st.Put(ctx, "reg/b", []byte("2"), store.PutOptions{TTL: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "reg/a", []byte("3"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	want(map[string]string{"reg/a": "3", "reg/b": "2"})
	want(map[string]string{"reg/a": "3"}) // reg/b expires
	if _, err := st.Delete(ctx, "reg/a"); err != nil {
		t.Fatal(err)
	}
	want(map[string]string{})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
