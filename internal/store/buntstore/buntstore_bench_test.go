package buntstore_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

func benchStore(b *testing.B, path string) *buntstore.Store {
	b.Helper()
	s, err := buntstore.Open(buntstore.Options{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func BenchmarkGet(b *testing.B) {
	s := benchStore(b, ":memory:")
	ctx := b.Context()
	val := make([]byte, 128)
	for i := range 1000 {
		if _, err := s.Put(ctx, fmt.Sprintf("bench/%04d", i), val, store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "bench/0500"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"memory", ":memory:"},
		{"disk", filepath.Join(b.TempDir(), "bench.db")},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b, c.path)
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
		})
	}
}

func BenchmarkGetParallel(b *testing.B) {
	s := benchStore(b, ":memory:")
	ctx := b.Context()
	if _, err := s.Put(ctx, "bench/k", make([]byte, 128), store.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Get(ctx, "bench/k"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCompareAndSwapMany: the judge's flush, 1,000 records of
// ~200 bytes per transaction among 100,000, reported per record.
func BenchmarkCompareAndSwapMany(b *testing.B) {
	storetest.BenchSwapMany(b, benchStore(b, filepath.Join(b.TempDir(), "bench.db")))
}
