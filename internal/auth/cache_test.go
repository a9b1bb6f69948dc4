package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

// countingStore counts the reads of a real store, to tell a cache hit
// from a store read.
type countingStore struct {
	store.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key string) (store.Entry, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

// startCache runs a cache over svc until the test ends and waits until it
// serves from memory.
func startCache(t testing.TB, svc *Service, opts CacheOptions) *Cache {
	t.Helper()
	c := NewCache(svc, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if n := c.Len(); n != 0 {
			t.Errorf("a stopped cache holds %d tokens", n)
		}
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		c.mu.RLock()
		live := c.live
		c.mu.RUnlock()
		if !live || c.fresh.Load() <= c.opts.Now().UnixNano() {
			return errors.New("the cache is not on yet")
		}
		return nil
	})
	return c
}

func authOK(t testing.TB, a interface {
	Authenticate(context.Context, string) (Principal, error)
}, plain string) Principal {
	t.Helper()
	p, err := a.Authenticate(context.Background(), plain)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

func TestCacheServesAVerifiedTokenFromMemory(t *testing.T) {
	st := &countingStore{Store: openBunt(t)}
	s := NewService(st)
	// The token exists before the cache watches: its creation, seen on the
	// watch after the first check, would drop the entry and cost a read.
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop"), ScopeIngest)
	c := startCache(t, s, CacheOptions{})

	want := authOK(t, s, plain)
	before := st.gets.Load()
	for range 5 {
		if p := authOK(t, c, plain); p.TokenID != tok.ID || p.Name != "shop" || !slices.Equal(p.Scopes, want.Scopes) {
			t.Fatalf("cached principal %+v, want %+v", p, want)
		}
	}
	if got := st.gets.Load() - before; got != 1 {
		t.Fatalf("5 checks of one token read the store %d times, want 1", got)
	}
	// Appending to the returned scopes does not change the cached ones.
	p := authOK(t, c, plain)
	_ = append(p.Scopes, ScopeAdmin)
	if p := authOK(t, c, plain); p.IsAdmin() || len(p.Scopes) != 2 {
		t.Fatalf("cached scopes changed by a caller: %v", p.Scopes)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
}

func TestCacheRevokeThroughItsServiceIsImmediate(t *testing.T) {
	s, _ := newTestService(t)
	c := startCache(t, s, CacheOptions{})
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	authOK(t, c, plain)
	if err := s.Revoke(context.Background(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Authenticate(context.Background(), plain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token right after Revoke: %v", err)
	}
}

// gatedStore holds the next Get of a token record, after it read the
// record, until release is closed.
type gatedStore struct {
	store.Store
	armed   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (s *gatedStore) Get(ctx context.Context, key string) (store.Entry, error) {
	e, err := s.Store.Get(ctx, key)
	if s.armed.CompareAndSwap(true, false) {
		close(s.read)
		<-s.release
	}
	return e, err
}

// A check that read the record before a revoke must not cache it after.
func TestCacheRevokeDuringACheckLeavesNothingBehind(t *testing.T) {
	st := &gatedStore{Store: openBunt(t), read: make(chan struct{}), release: make(chan struct{})}
	s := NewService(st)
	c := startCache(t, s, CacheOptions{})
	ctx := context.Background()
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	st.armed.Store(true)
	checked := make(chan error, 1)
	go func() {
		_, err := c.Authenticate(ctx, plain)
		checked <- err
	}()
	<-st.read // the check holds the record as it was before the revoke
	if err := s.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	close(st.release)
	if err := <-checked; err != nil {
		t.Fatalf("the check that started before the revoke: %v", err)
	}
	if _, err := c.Authenticate(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token after a check in flight ended: %v", err)
	}
	if c.Len() != 0 {
		t.Fatalf("Len = %d after the revoke, want 0", c.Len())
	}
}

func TestCacheKeepsNoFailures(t *testing.T) {
	st := &countingStore{Store: openBunt(t)}
	s := NewService(st)
	c := startCache(t, s, CacheOptions{})
	ctx := context.Background()

	// A token whose record does not exist yet fails, and fails again
	// through the store each time (no negative entry to brute-force against).
	id, plain, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	before := st.gets.Load()
	for range 3 {
		if _, err := c.Authenticate(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if got := st.gets.Load() - before; got != 3 {
		t.Fatalf("3 checks of an unknown token read the store %d times, want 3", got)
	}
	rec, _ := json.Marshal(Token{ID: id, Name: "late", Scopes: []string{ScopeIngest}, Hash: hashToken(plain)})
	if _, err := st.Put(ctx, tokenKeyPrefix+id, rec, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := authOK(t, c, plain); p.Name != "late" {
		t.Fatalf("principal %+v", p)
	}
	// A wrong secret for a cached id fails (through the store), and the
	// right token still works.
	wrong := plain[:len(plain)-1] + "0"
	if wrong == plain {
		wrong = plain[:len(plain)-1] + "1"
	}
	before = st.gets.Load()
	if _, err := c.Authenticate(ctx, wrong); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("wrong secret: %v", err)
	}
	if st.gets.Load() == before {
		t.Fatal("a wrong secret was rejected from the cache, not the store")
	}
	authOK(t, c, plain)
	if _, err := c.Authenticate(ctx, "wharf_garbage"); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("malformed token: %v", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	s, _ := newTestService(t)
	c := startCache(t, s, CacheOptions{MaxEntries: 3})
	var plains []string
	for i := range 10 {
		_, plain := mustCreate(t, s, fmt.Sprintf("t%d", i), ScopeIngest)
		plains = append(plains, plain)
	}
	for range 2 {
		for i, plain := range plains {
			if p := authOK(t, c, plain); p.Name != fmt.Sprintf("t%d", i) {
				t.Fatalf("token %d: principal %+v", i, p)
			}
			if n := c.Len(); n > 3 {
				t.Fatalf("Len = %d, want at most 3", n)
			}
		}
	}
}

func TestCacheReadsTheStoreAgainAfterMaxAge(t *testing.T) {
	st := &countingStore{Store: openBunt(t)}
	s := NewService(st)
	var clock atomic.Int64
	clock.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	_, plain := mustCreate(t, s, "shop", TeamScope("shop")) // before the watch (see TestCacheServesAVerifiedTokenFromMemory)
	c := startCache(t, s, CacheOptions{MaxAge: time.Minute, Freshness: time.Hour, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	authOK(t, c, plain)
	authOK(t, c, plain)
	before := st.gets.Load()
	clock.Add(int64(time.Minute + time.Second))
	authOK(t, c, plain)
	if st.gets.Load() == before {
		t.Fatal("a check older than MaxAge was reused")
	}
	before = st.gets.Load()
	authOK(t, c, plain)
	if st.gets.Load() != before {
		t.Fatal("the check renewed after MaxAge was not cached")
	}
}

func TestCacheWithoutRunAlwaysReadsTheStore(t *testing.T) {
	st := &countingStore{Store: openBunt(t)}
	s := NewService(st)
	c := NewCache(s, CacheOptions{})
	_, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	before := st.gets.Load()
	authOK(t, c, plain)
	authOK(t, c, plain)
	if got := st.gets.Load() - before; got != 2 || c.Len() != 0 {
		t.Fatalf("without Run: %d store reads, %d cached", got, c.Len())
	}
}

// openRedisNode is one node's client of a shared Redis.
func openRedisNode(t testing.TB, addr string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := redisstore.Open(ctx, redisstore.Options{Addr: addr, Namespace: "authcache"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// A token revoked or changed on one node stops working as it was on every
// other node within a second.
func TestCacheSeesChangesFromOtherNodesWithinASecond(t *testing.T) {
	r := testenv.StartRedis(t)
	a := NewService(openRedisNode(t, r.Addr))
	b := NewService(openRedisNode(t, r.Addr))
	cb := startCache(t, b, CacheOptions{})
	ctx := context.Background()

	tok, plain := mustCreate(t, a, "shop", TeamScope("shop"))
	// The create reaches b's watch too and may drop a first entry.
	testenv.Eventually(t, 5*time.Second, func() error {
		authOK(t, cb, plain)
		if cb.Len() != 1 {
			return fmt.Errorf("Len = %d, want 1", cb.Len())
		}
		return nil
	})
	// A rewrite of the record (scopes changed) is seen.
	rec, _ := json.Marshal(Token{ID: tok.ID, Name: "shop", Scopes: []string{TeamScope("bank")}, Hash: hashToken(plain)})
	if _, err := a.st.Put(ctx, tokenKeyPrefix+tok.ID, rec, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if p := authOK(t, cb, plain); !p.Allows(TeamScope("bank")) || p.Allows(TeamScope("shop")) {
			return fmt.Errorf("scopes %v, want [team:bank]", p.Scopes)
		}
		return nil
	})
	// A revoke through the other node is seen.
	if err := a.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, func() error {
		if _, err := cb.Authenticate(ctx, plain); !errors.Is(err, ErrUnauthenticated) {
			return fmt.Errorf("revoked token on the other node: %v", err)
		}
		return nil
	})
}

// A node that cannot reach the shared store stops trusting its cache within
// Freshness: a token revoked meanwhile elsewhere cannot keep working there.
func TestCacheStopsTrustingWhenTheStoreIsUnreachable(t *testing.T) {
	r := testenv.StartRedis(t)
	s := NewService(openRedisNode(t, r.Addr))
	c := startCache(t, s, CacheOptions{OpTimeout: 200 * time.Millisecond})
	_, plain := mustCreate(t, s, "shop", TeamScope("shop"))
	authOK(t, c, plain)

	r.Pause()
	resumed := false
	defer func() {
		if !resumed {
			r.Resume()
		}
	}()
	check := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Authenticate(ctx, plain)
		return err
	}
	testenv.Eventually(t, 2*time.Second, func() error {
		if err := check(); err == nil {
			return errors.New("the cached token is still accepted with the store unreachable")
		} else if errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("an unreachable store answered ErrUnauthenticated: %v", err)
		}
		return nil
	})
	r.Resume()
	resumed = true
	testenv.Eventually(t, 10*time.Second, check)
}

// TestCacheAuthenticateBytesIsAuthenticate: the check of a token still in
// the request's buffer serves a verified token from memory, and everything
// else as Authenticate does: a wrong secret or malformed token through the
// store and refused, a revoke at once, a check older than MaxAge read again.
func TestCacheAuthenticateBytesIsAuthenticate(t *testing.T) {
	st := &countingStore{Store: openBunt(t)}
	s := NewService(st)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	tok, plain := mustCreate(t, s, "shop", TeamScope("shop")) // before the watch (see TestCacheServesAVerifiedTokenFromMemory)
	_, other := mustCreate(t, s, "other", ScopeIngest)
	c := startCache(t, s, CacheOptions{MaxAge: time.Minute, Freshness: time.Hour, Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	ctx := context.Background()
	check := func(tok string) (Principal, error) {
		buf := []byte(tok)
		p, err := c.AuthenticateBytes(ctx, buf)
		for i := range buf {
			buf[i] = 'x' // the caller's buffer is reused: nothing may point into it
		}
		return p, err
	}
	if p, err := check(plain); err != nil || p.TokenID != tok.ID || p.Name != "shop" {
		t.Fatalf("first check: %+v, %v", p, err)
	}
	before := st.gets.Load()
	buf := []byte(plain)
	if n := testing.AllocsPerRun(20, func() {
		if p, err := c.AuthenticateBytes(ctx, buf); err != nil || p.Name != "shop" {
			t.Fatalf("cached check: %+v, %v", p, err)
		}
	}); n != 0 {
		t.Errorf("a cached check allocates %.0f times, want 0", n)
	}
	if got := st.gets.Load() - before; got != 0 {
		t.Fatalf("cached checks read the store %d times", got)
	}
	if p, err := check(plain); err != nil || p.Name != "shop" || p.Scopes[0] != TeamScope("shop") {
		t.Fatalf("after the buffer was overwritten: %+v, %v", p, err)
	}
	wrong := plain[:len(plain)-1] + "0"
	if wrong == plain {
		wrong = plain[:len(plain)-1] + "1"
	}
	before = st.gets.Load()
	for _, bad := range []string{wrong, "wharf_garbage", plain + "0", " " + plain[1:], ""} {
		if _, err := check(bad); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("%q: %v, want ErrUnauthenticated", bad, err)
		}
	}
	if st.gets.Load() == before {
		t.Fatal("a wrong secret was rejected from the cache, not the store")
	}
	clock.Add(int64(time.Minute + time.Second))
	before = st.gets.Load()
	if _, err := check(plain); err != nil {
		t.Fatal(err)
	}
	if st.gets.Load() == before {
		t.Fatal("a check older than MaxAge was reused")
	}
	if _, err := check(other); err != nil {
		t.Fatal(err)
	}
	if err := s.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := check(plain); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked token right after Revoke: %v", err)
	}
	if p, err := check(other); err != nil || p.Name != "other" {
		t.Fatalf("the other token after a revoke: %+v, %v", p, err)
	}
}
