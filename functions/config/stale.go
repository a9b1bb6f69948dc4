package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/auth"
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
//     StaleCredentials (default 5 minutes) after its last successful check:
//     a token revoked during an outage keeps reading that app's config on
//     the nodes that checked it, for at most that long; it never reads
//     another app's, nor writes. An Apollo signature is checked as always,
//     against the access keys last read;
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

// lastKnown keeps the store reads and the credential checks of client
// reads, bounded (an arbitrary entry makes room).
type lastKnown struct {
	max      int
	credFor  time.Duration
	now      func() time.Time
	mu       sync.Mutex
	reads    map[string]knownRead
	creds    map[[32]byte]knownCred
	credSeen time.Duration // a check refreshes a kept one older than this
}

// knownRead is one store read: absent (found false), one value (a Get) or
// a list's values.
type knownRead struct {
	found   bool
	version uint64
	values  [][]byte
}

// knownCred is a token's last successful read check of one app.
type knownCred struct {
	p  auth.Principal
	at time.Time
}

func newLastKnown(max int, credFor time.Duration, now func() time.Time) *lastKnown {
	return &lastKnown{max: max, credFor: credFor, now: now, credSeen: min(time.Second, credFor/2),
		reads: map[string]knownRead{}, creds: map[[32]byte]knownCred{}}
}

// putRead keeps a read of key (only for a client read's ctx). Values are
// copied: the store may reuse its buffers.
func (k *lastKnown) putRead(ctx context.Context, key string, r knownRead) {
	if !staleAllowed(ctx) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.reads[key]; ok && sameRead(old, r) {
		return
	}
	if len(k.reads) >= k.max {
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
	k.reads[key] = r
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

// credKey identifies a token's check of app; the token itself is not kept.
func credKey(token, app string) [32]byte {
	var buf [192]byte // tokens and app names fit: no allocation per read
	b := append(buf[:0], app...)
	b = append(b, 0)
	b = append(b, token...)
	return sha256.Sum256(b)
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

// putCred records that token passed app's read check as p now.
func (k *lastKnown) putCred(token, app string, p auth.Principal) {
	key, now := credKey(token, app), k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.creds[key]; ok && now.Sub(old.at) < k.credSeen {
		return
	}
	if len(k.creds) >= k.max {
		for x := range k.creds {
			delete(k.creds, x)
			break
		}
	}
	k.creds[key] = knownCred{p: p, at: now}
}

// cred is token's check of app if it passed within credFor.
func (k *lastKnown) cred(token, app string) (auth.Principal, bool) {
	key := credKey(token, app)
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.creds[key]
	if !ok || k.now().Sub(c.at) > k.credFor {
		return auth.Principal{}, false
	}
	return c.p, true
}

// unavailable reports whether err is a store outage's 503.
func unavailable(err error) bool {
	var he *httperr.Error
	return errors.As(err, &he) && he.Status == http.StatusServiceUnavailable
}
