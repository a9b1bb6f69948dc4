package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestBatchAfterScriptFlush: a batch of swaps sent after Redis lost its
// script cache (a restart, SCRIPT FLUSH) loads the script and applies
// every swap once.
func TestBatchAfterScriptFlush(t *testing.T) {
	r := testenv.StartRedis(t)
	o := &opener{addr: r.Addr}
	s := o.open(t, redisstore.Options{})
	ctx := context.Background()
	v, err := s.Put(ctx, "k/a", []byte("1"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = raw.Close() })
	if err := raw.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := s.CompareAndSwapMany(ctx, []store.Swap{{Key: "k/a", Expect: v, Value: []byte("2")}, {Key: "k/b", Value: []byte("1")}})
	if err != nil || len(res) != 2 || res[0].Err != nil || res[1].Err != nil || res[1].Version <= res[0].Version {
		t.Fatalf("batch after SCRIPT FLUSH: %+v %v", res, err)
	}
	got, err := s.GetMany(ctx, []string{"k/a", "k/b"})
	if err != nil || string(got[0].Value) != "2" || got[0].Version != res[0].Version || string(got[1].Value) != "1" {
		t.Fatalf("after the batch: %+v %v", got, err)
	}
	rev, err := s.Revision(ctx)
	if err != nil || rev != res[1].Version {
		t.Fatalf("revision %d, want %d (each swap applied once): %v", rev, res[1].Version, err)
	}
}
