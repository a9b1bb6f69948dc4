package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCheckKey(t *testing.T) {
	t.Parallel()
	good := []string{"a", "apps/shop/1.4.2+build.7.tar.gz", "A_b-c.d", strings.Repeat("k", MaxSegmentLen)}
	bad := []string{"", "/a", "a/", "a//b", ".a", "a/.b", "..", "a/../b", "a b", "a@b", "a%2F", "ü", strings.Repeat("k", MaxSegmentLen+1)}
	for _, k := range good {
		if err := CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q): %v", k, err)
		}
	}
	for _, k := range bad {
		if err := CheckKey(k); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckKey(%q): want ErrInvalid, got %v", k, err)
		}
	}
	for _, p := range []string{"", "a", "a/", "apps/sh"} {
		if err := CheckPrefix(p); err != nil {
			t.Errorf("CheckPrefix(%q): %v", p, err)
		}
	}
	for _, p := range []string{"/", "a//", ".x", "a b"} {
		if err := CheckPrefix(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckPrefix(%q): want ErrInvalid, got %v", p, err)
		}
	}
}

func TestNormalizeSHA256(t *testing.T) {
	t.Parallel()
	up := strings.Repeat("AB", 32)
	if s, err := NormalizeSHA256(up); err != nil || s != strings.ToLower(up) {
		t.Fatalf("NormalizeSHA256: %q, %v", s, err)
	}
	if err := VerifySHA256(strings.ToLower(up), ""); err != nil {
		t.Fatal(err)
	}
	if err := VerifySHA256("a", "b"); !errors.Is(err, ErrChecksum) {
		t.Fatalf("VerifySHA256: %v", err)
	}
}

// stuck returns (0, nil) forever, which io.Reader discourages.
type stuck struct{}

func (stuck) Read([]byte) (int, error) { return 0, nil }

func TestBodyEnforcesSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := NewBody(ctx, strings.NewReader("hello"), 5)
	if data, err := io.ReadAll(b); err != nil || string(data) != "hello" || b.N() != 5 {
		t.Fatalf("exact body: %q, %v", data, err)
	}
	var re *ReadError
	if _, err := io.ReadAll(NewBody(ctx, strings.NewReader("hello!"), 5)); !errors.As(err, &re) || !errors.Is(err, ErrBodyTooLong) {
		t.Fatalf("long body: %v", err)
	}
	if _, err := io.ReadAll(NewBody(ctx, strings.NewReader("hell"), 5)); !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v", err)
	}
	if _, err := io.ReadAll(NewBody(ctx, io.MultiReader(strings.NewReader("hello"), stuck{}), 5)); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("stuck reader at the end: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := io.ReadAll(NewBody(cctx, strings.NewReader("x"), -1)); !errors.Is(err, context.Canceled) || errors.As(err, &re) {
		t.Fatalf("canceled: %v", err)
	}
}
