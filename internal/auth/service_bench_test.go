package auth

import (
	"context"
	"testing"
)

func BenchmarkAuthenticate(b *testing.B) {
	s, _ := newTestService(b)
	ctx := context.Background()
	for range 100 { // a realistic number of other tokens in the store
		mustCreate(b, s, "other", ScopeIngest)
	}
	_, plain := mustCreate(b, s, "shop", TeamScope("shop"))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateRejectUnknown(b *testing.B) {
	s, _ := newTestService(b)
	ctx := context.Background()
	mustCreate(b, s, "shop", TeamScope("shop"))
	unknown := tokenPrefix + "ffffffffffffffff_" + validSecret
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, unknown); err == nil {
			b.Fatal("unknown token accepted")
		}
	}
}

func BenchmarkParseToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := parseToken(validToken); !ok {
			b.Fatal("rejected")
		}
	}
}

func BenchmarkCacheAuthenticate(b *testing.B) {
	s, _ := newTestService(b)
	c := startCache(b, s, CacheOptions{})
	ctx := context.Background()
	for range 100 {
		mustCreate(b, s, "other", ScopeIngest)
	}
	_, plain := mustCreate(b, s, "shop", TeamScope("shop"))
	if _, err := c.Authenticate(ctx, plain); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Authenticate(ctx, plain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCacheAuthenticateRejectUnknown(b *testing.B) {
	s, _ := newTestService(b)
	c := startCache(b, s, CacheOptions{})
	ctx := context.Background()
	mustCreate(b, s, "shop", TeamScope("shop"))
	unknown := tokenPrefix + "ffffffffffffffff_" + validSecret
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Authenticate(ctx, unknown); err == nil {
			b.Fatal("unknown token accepted")
		}
	}
}
