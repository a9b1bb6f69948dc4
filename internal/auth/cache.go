package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for CacheOptions.
const (
	DefaultCacheEntries   = 10000
	DefaultCacheMaxAge    = time.Minute
	DefaultCacheFreshness = time.Second
	DefaultCachePing      = 250 * time.Millisecond
	DefaultCacheOpTimeout = 5 * time.Second
	DefaultCacheBackoff   = 100 * time.Millisecond
	DefaultCacheMaxWait   = 5 * time.Second
)

// CacheOptions configure a Cache. Zero values take the defaults.
type CacheOptions struct {
	// MaxEntries bounds how many verified tokens are kept (default
	// DefaultCacheEntries); beyond it a random entry makes room.
	MaxEntries int
	// MaxAge is how long one verification is reused at most, even without
	// a change seen on the watch (default DefaultCacheMaxAge).
	MaxAge time.Duration
	// Freshness is how long after the store last answered a ping the
	// entries are still used (default DefaultCacheFreshness): a node cut
	// off from a shared store stops trusting what it cached within it, so a
	// token revoked elsewhere cannot keep working there.
	Freshness time.Duration
	// PingInterval is how often the store is pinged (default DefaultCachePing).
	PingInterval time.Duration
	// OpTimeout bounds one ping or revision read (default DefaultCacheOpTimeout).
	OpTimeout time.Duration
	// MinBackoff and MaxBackoff pace the restarts of a watch that ended.
	MinBackoff, MaxBackoff time.Duration
	// Logger; nil discards. Tokens and their hashes are never logged.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *CacheOptions) defaults() {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultCacheEntries
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultCacheMaxAge
	}
	if o.Freshness <= 0 {
		o.Freshness = DefaultCacheFreshness
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultCachePing
	}
	if o.OpTimeout <= 0 {
		o.OpTimeout = DefaultCacheOpTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultCacheBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultCacheMaxWait, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Cache authenticates tokens like its Service, remembering the tokens it
// verified so that a known token costs a SHA-256 and a map lookup instead
// of a store read and a JSON decode. Entries are keyed by the SHA-256 of the
// presented token (the plaintext is not kept) and hold the principal.
//
// Only successes are kept: an unknown, malformed or wrong token asks the
// store every time, as the Service does. Every change to a token record
// (revoke, rewrite, expiry) seen on the store's watch drops that token; a
// revoke through the Cache's own Service drops it at once. The entries are
// used only while Run keeps the watch open and the store answered a ping
// within Freshness; otherwise every call goes to the store.
type Cache struct {
	svc  *Service
	opts CacheOptions
	// fresh is the unix-nano instant until which entries may be used.
	fresh atomic.Int64

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cacheEntry
	byID    map[string][sha256.Size]byte
	// gen changes on every invalidation: a verification that started
	// before one is not cached.
	gen uint64
	// live is true while the watch is open.
	live bool
}

type cacheEntry struct {
	p     Principal
	id    string
	until int64 // unix nanos
}

// NewCache returns a cache in front of svc and registers it with svc, so
// that svc.Revoke drops the token from the cache before it returns; call
// it before svc is in use. It caches nothing until Run has opened its watch.
func NewCache(svc *Service, opts CacheOptions) *Cache {
	opts.defaults()
	c := &Cache{svc: svc, opts: opts, entries: map[[sha256.Size]byte]cacheEntry{}, byID: map[string][sha256.Size]byte{}}
	svc.onRevoke = append(svc.onRevoke, c.forget)
	return c
}

// OnRevoke has fn told the id of every token the Cache's Service revokes
// (Service.OnRevoke); call it before the Service is in use.
func (c *Cache) OnRevoke(fn func(id string)) { c.svc.OnRevoke(fn) }

// Authenticate returns the principal of a plaintext token or
// ErrUnauthenticated, as Service.Authenticate does. The principal's Scopes
// are shared with the cache: do not modify them.
func (c *Cache) Authenticate(ctx context.Context, plain string) (Principal, error) {
	id, ok := parseToken(plain)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	sum := tokenSum(plain)
	now := c.opts.Now().UnixNano()
	c.mu.RLock()
	e, hit := c.entries[sum]
	live, gen := c.live, c.gen
	c.mu.RUnlock()
	if hit && live && now < e.until && now < c.fresh.Load() {
		return e.p, nil
	}
	p, expires, err := c.svc.check(ctx, id, plain, &sum)
	if err != nil || !live {
		return p, err
	}
	c.put(sum, id, p, expires, now, gen)
	return p, nil
}

// AuthenticateBytes is Authenticate for a token still in a request's
// buffer: a cached token costs a SHA-256 and a map lookup and allocates
// nothing (its form needs no check: only verified, well-formed tokens are
// cached under their hash). tok is not kept.
func (c *Cache) AuthenticateBytes(ctx context.Context, tok []byte) (Principal, error) {
	if len(tok) == len(tokenPrefix)+idLen+1+2*secretBytes {
		sum := sha256.Sum256(tok)
		now := c.opts.Now().UnixNano()
		c.mu.RLock()
		e, hit := c.entries[sum]
		live := c.live
		c.mu.RUnlock()
		if hit && live && now < e.until && now < c.fresh.Load() {
			return e.p, nil
		}
	}
	return c.Authenticate(ctx, string(tok))
}

// Len returns how many verified tokens are cached.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// put caches a verification that started at generation gen.
func (c *Cache) put(sum [sha256.Size]byte, id string, p Principal, expires time.Time, now int64, gen uint64) {
	until := now + int64(c.opts.MaxAge)
	if !expires.IsZero() && expires.UnixNano() < until {
		until = expires.UnixNano()
	}
	p.Scopes = slices.Clip(p.Scopes)
	id = strings.Clone(id) // id is a slice of the plaintext, which is not kept
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen {
		return
	}
	if old, ok := c.byID[id]; ok && old != sum {
		delete(c.entries, old)
	}
	if _, ok := c.entries[sum]; !ok && len(c.entries) >= c.opts.MaxEntries {
		for k, e := range c.entries { // map order is random: a random victim
			delete(c.entries, k)
			delete(c.byID, e.id)
			break
		}
	}
	c.entries[sum] = cacheEntry{p: p, id: id, until: until}
	c.byID[id] = sum
}

// forget drops the token id and stops verifications in flight from being cached.
func (c *Cache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if sum, ok := c.byID[id]; ok {
		delete(c.entries, sum)
		delete(c.byID, id)
	}
}

// setLive empties the cache and turns it on or off.
func (c *Cache) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	clear(c.entries)
	clear(c.byID)
}

// Run keeps the cache in step with the store until ctx ends, then empties
// it and returns nil. While its watch is down (a failed watch restarts with
// backoff) the cache holds nothing and every call reads the store.
func (c *Cache) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	pinged := make(chan struct{})
	go func() {
		defer close(pinged)
		c.keepFresh(ctx)
	}()
	defer func() {
		cancel()
		<-pinged
		c.setLive(false)
	}()
	backoff := c.opts.MinBackoff
	for {
		opened, err := c.watch(ctx)
		c.setLive(false)
		if ctx.Err() != nil {
			return nil
		}
		if opened {
			backoff = c.opts.MinBackoff
		}
		c.opts.Logger.Warn("token cache: watch interrupted, checking every token in the store until it resumes", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, c.opts.MaxBackoff)
	}
}

var errWatchClosed = errors.New("watch channel closed")

// watch opens a watch of the token records, turns the cache on and drops
// every token that changes until the watch ends.
func (c *Cache) watch(ctx context.Context) (opened bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, c.opts.OpTimeout)
	rev, err := c.svc.st.Revision(rctx)
	cancel()
	if err != nil {
		return false, fmt.Errorf("cannot read the store revision: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := c.svc.st.Watch(wctx, tokenKeyPrefix, rev)
	if err != nil {
		return false, fmt.Errorf("cannot watch tokens: %w", err)
	}
	// Every change after rev reaches this loop; every check from now on
	// reads the store at rev or later.
	c.setLive(true)
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case ev, ok := <-ch:
			if !ok {
				return true, errWatchClosed
			}
			if ev.Err != nil {
				return true, fmt.Errorf("cannot watch tokens: %w", ev.Err)
			}
			c.forget(strings.TrimPrefix(ev.Key, tokenKeyPrefix))
		}
	}
}

// keepFresh pings the store every PingInterval and extends the time the
// entries may be used to Freshness after each ping that answered; a
// failed ping ends it at once. A ping waits at most Freshness.
func (c *Cache) keepFresh(ctx context.Context) {
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		start := c.opts.Now()
		pctx, cancel := context.WithTimeout(ctx, min(c.opts.OpTimeout, c.opts.Freshness))
		err := c.svc.st.Ping(pctx)
		cancel()
		if err == nil {
			c.fresh.Store(start.Add(c.opts.Freshness).UnixNano())
		} else {
			// A store that answers with an error is not waited out.
			c.fresh.Store(0)
			if ctx.Err() == nil {
				c.opts.Logger.Debug("token cache: store ping failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
