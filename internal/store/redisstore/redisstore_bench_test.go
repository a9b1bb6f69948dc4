package redisstore_test

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

func benchStore(b *testing.B) *redisstore.Store {
	b.Helper()
	r := testenv.StartRedis(b)
	s, err := redisstore.Open(b.Context(), redisstore.Options{Addr: r.Addr})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkGet(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	if _, err := s.Put(ctx, "bench/k", make([]byte, 128), store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "bench/k"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	val := make([]byte, 128)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Put(ctx, fmt.Sprintf("bench/%04d", i%1000), val, store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkPutParallel(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	val := make([]byte, 128)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.Put(ctx, fmt.Sprintf("bench/%04d", i%1000), val, store.PutOptions{}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
