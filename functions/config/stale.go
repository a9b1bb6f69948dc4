package config

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/httperr"
)

// Serving stale during a store outage. Apollo's config service answers
// from its cache while its database is down; so does this function, for
// client reads only (/configs, /configfiles, /notifications/v2):
//
//   - what a client read last read from the store (namespace heads, public
//     namespace owners, an app's access keys; releases never change and are
//     cached anyway) is kept, and answered when the store cannot be
//     reached — never when the store answers (a deleted key is deleted);
//   - a bearer token that passed the read check of an app on this node is
//     trusted for that app, while the store cannot be reached, for
//     StaleCredentials (default 5 minutes) after its last successful check
//     and never past its expiry; a 401, a revoke and any change of its
//     record seen on the watch drop it (stalecreds.go, follow.go): only a
//     token revoked during an outage keeps reading that app's config on
//     the nodes that checked it, for at most that long; it never reads
//     another app's, nor writes. An Apollo signature is checked as always,
//     against the access keys as last seen (the key watch keeps them
//     current; a list is not used past StaleCredentials);
//   - writes (the team API) never use any of it: they answer 503 and change
//     nothing until the store is back.
//
// Held polls need nothing from the store; a publish needs the store, so
// nothing changes during an outage and the last releases stay right.

// staleCtxKey marks a client read's context: its store reads are kept and
// may be answered from what was kept.
type staleCtxKey struct{}

func withStale(ctx context.Context) context.Context {
	return context.WithValue(ctx, staleCtxKey{}, true)
}

func staleAllowed(ctx context.Context) bool {
	v, _ := ctx.Value(staleCtxKey{}).(bool)
	return v
}

// lastKnown keeps the store reads of client reads, bounded (an arbitrary
// entry makes room for a new key).
type lastKnown struct {
	max   int
	now   func() time.Time
	mu    sync.Mutex
	reads map[string]knownRead
}

// knownRead is one store read: absent (found false), one value (a Get) or
// a list's values.
type knownRead struct {
	found   bool
	version uint64
	values  [][]byte
	at      time.Time // when the store last answered it
}

func newLastKnown(max int, now func() time.Time) *lastKnown {
	return &lastKnown{max: max, now: now, reads: map[string]knownRead{}}
}

// putRead keeps a read of key (only for a client read's ctx). Values are
// copied: the store may reuse its buffers.
func (k *lastKnown) putRead(ctx context.Context, key string, r knownRead) {
	if !staleAllowed(ctx) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if old, ok := k.reads[key]; ok && sameRead(old, r) {
		old.at = now
		k.reads[key] = old
		return
	}
	if _, ok := k.reads[key]; !ok && len(k.reads) >= k.max {
		for x := range k.reads {
			delete(k.reads, x)
			break
		}
	}
	vs := make([][]byte, len(r.values))
	for i, v := range r.values {
		vs[i] = bytes.Clone(v)
	}
	r.values = vs
	r.at = now
	k.reads[key] = r
}

// drop forgets the kept read of key.
func (k *lastKnown) drop(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.reads, key)
}

// dropPrefix forgets every kept read whose key starts with p.
func (k *lastKnown) dropPrefix(p string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key := range k.reads {
		if strings.HasPrefix(key, p) {
			delete(k.reads, key)
		}
	}
}

// putValue keeps a Get of key that found value at version; unchanged
// (the common case) it costs no allocation.
func (k *lastKnown) putValue(ctx context.Context, key string, version uint64, value []byte) {
	if !staleAllowed(ctx) {
		return
	}
	k.mu.Lock()
	old, ok := k.reads[key]
	same := ok && old.found && old.version == version && len(old.values) == 1 && bytes.Equal(old.values[0], value)
	k.mu.Unlock()
	if !same {
		k.putRead(ctx, key, knownRead{found: true, version: version, values: [][]byte{value}})
	}
}

// sameRead reports whether two reads found the same.
func sameRead(a, b knownRead) bool {
	if a.found != b.found || a.version != b.version || len(a.values) != len(b.values) {
		return false
	}
	for i := range a.values {
		if !bytes.Equal(a.values[i], b.values[i]) {
			return false
		}
	}
	return true
}

// read is the kept read of key, for a client read's ctx.
func (k *lastKnown) read(ctx context.Context, key string) (knownRead, bool) {
	if !staleAllowed(ctx) {
		return knownRead{}, false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	r, ok := k.reads[key]
	return r, ok
}

// clientCtx is withStale(parent), made once per parent (the Mux's context
// is the same for every request): no allocation per client read.
func (f *Function) clientCtx(parent context.Context) context.Context {
	if c := f.staleCtx.Load(); c != nil && c.parent == parent {
		return c.ctx
	}
	c := &staleCtxOf{parent: parent, ctx: withStale(parent)}
	f.staleCtx.Store(c)
	return c.ctx
}

// staleCtxOf is a parent context and its withStale child.
type staleCtxOf struct {
	parent, ctx context.Context
}

// unavailable reports whether err is a store outage's 503.
func unavailable(err error) bool {
	var he *httperr.Error
	return errors.As(err, &he) && he.Status == http.StatusServiceUnavailable
}
