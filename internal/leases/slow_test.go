package leases_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/leases"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestSlowStartKeepsTheLeases: a shard whose start takes several TTLs (a
// store recovering a long log) keeps its lease and the member's other
// leases all along: another member, balancing the whole time, never takes
// a shard the first one runs.
func TestSlowStartKeepsTheLeases(t *testing.T) {
	w := newWork(t)
	ctx := context.Background()
	const ttl = 600 * time.Millisecond
	release := make(chan struct{})
	var mu sync.Mutex
	running := map[int]string{}
	mk := func(id string, slow int) *leases.Manager {
		m, err := leases.New(leases.Options{
			Store: w.st, LeasePrefix: leasePrefix, MemberPrefix: memberPrefix, NodeID: id, Shards: 4, TTL: ttl,
			Start: func(_ context.Context, i int) error {
				mu.Lock()
				if other, ok := running[i]; ok {
					t.Errorf("%s starts shard %d, which %s runs", id, i, other)
				}
				running[i] = id
				mu.Unlock()
				if i == slow {
					<-release // the slow part of this shard's start
				}
				return nil
			},
			Stop: func(i int) {
				mu.Lock()
				defer mu.Unlock()
				delete(running, i)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := mk("a", 3), mk("b", -1)
	done := make(chan struct{})
	go func() { defer close(done); a.Balance(ctx) }() // takes 0, 1, 2, then blocks starting 3
	testenv.Eventually(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if running[3] != "a" {
			return fmt.Errorf("a is not starting shard 3 yet: %v", running)
		}
		return nil
	})
	// Three TTLs of b balancing while a's start of shard 3 hangs.
	for end := time.Now().Add(3 * ttl); time.Now().Before(end); {
		b.Balance(ctx)
		if got := b.Owned(); len(got) != 0 {
			t.Fatalf("b took %v while a runs every shard", got)
		}
	}
	close(release)
	<-done
	if !a.Holds(3) || !a.Holds(0) {
		t.Fatalf("a owns %v after its slow start", a.Owned())
	}
	a.ReleaseAll()
	b.ReleaseAll()
}
