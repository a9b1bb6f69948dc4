package config

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/auth"
)

// staleCreds keeps the bearer tokens' successful read checks for a store
// outage (stale.go), indexed by the SHA-256 of the token (the token itself
// is not kept), then by app. An entry is used only within credFor of its
// check and never past the token's expiry; a 401 of the token, a refused
// read of the app, a revoke through the token service and every change
// of the token's record seen on the store's watch drop it. A check that
// started before a revoke or a record change is not kept (gen), and
// checks are kept only while the watch of the token records is open
// (live): a kept check was made after the last token change this node
// saw.
type staleCreds struct {
	max     int
	credFor time.Duration
	now     func() time.Time
	seen    time.Duration // a check refreshes a kept one older than this

	mu      sync.Mutex
	byToken map[[sha256.Size]byte]*tokenCreds
	byID    map[string][sha256.Size]byte
	n       int    // kept checks
	gen     uint64 // changes on every drop
	live    bool
}

// tokenCreds are one token's kept checks.
type tokenCreds struct {
	id   string
	apps map[string]knownCred
}

// knownCred is a token's last successful read check of one app.
type knownCred struct {
	p     auth.Principal
	at    time.Time
	until time.Time // at+credFor, or the token's expiry if earlier
}

func newStaleCreds(max int, credFor time.Duration, now func() time.Time) *staleCreds {
	return &staleCreds{max: max, credFor: credFor, now: now, seen: min(time.Second, credFor/2),
		byToken: map[[sha256.Size]byte]*tokenCreds{}, byID: map[string][sha256.Size]byte{}}
}

// tokenKey identifies a token; no allocation.
func tokenKey(token string) [sha256.Size]byte {
	var buf [128]byte
	return sha256.Sum256(append(buf[:0], token...))
}

// generation is what a check that starts now passes to put.
func (c *staleCreds) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put records that the token sum passed app's read check as p, the check
// having started at generation gen.
func (c *staleCreds) put(sum [sha256.Size]byte, app string, p auth.Principal, gen uint64) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.live || c.gen != gen || p.TokenID == "" {
		return
	}
	tc := c.byToken[sum]
	if tc != nil {
		if old, ok := tc.apps[app]; ok && now.Sub(old.at) < c.seen {
			return
		}
	}
	if tc == nil || tc.apps[app].at.IsZero() {
		if c.n >= c.max {
			for k := range c.byToken { // map order is random: a random victim
				c.dropLocked(k)
				break
			}
			tc = c.byToken[sum]
		}
		c.n++
	}
	if tc == nil {
		if old, ok := c.byID[p.TokenID]; ok && old != sum {
			c.dropLocked(old)
		}
		tc = &tokenCreds{id: p.TokenID, apps: map[string]knownCred{}}
		c.byToken[sum] = tc
		c.byID[p.TokenID] = sum
	}
	until := now.Add(c.credFor)
	if !p.Expires.IsZero() && p.Expires.Before(until) {
		until = p.Expires
	}
	tc.apps[app] = knownCred{p: p, at: now, until: until}
}

// get is the token sum's kept check of app, if still usable.
func (c *staleCreds) get(sum [sha256.Size]byte, app string) (auth.Principal, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	tc := c.byToken[sum]
	if tc == nil {
		return auth.Principal{}, false
	}
	kc, ok := tc.apps[app]
	if !ok || !now.Before(kc.until) {
		return auth.Principal{}, false
	}
	return kc.p, true
}

// dropToken forgets every check of the token sum (it got a 401). It
// does not change gen: any client can send a bad token, and checks of
// other tokens in flight must still be kept (a revoke that raced a check
// of the same token is also seen on the watch: forget).
func (c *staleCreds) dropToken(sum [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(sum)
}

// dropApp forgets the token sum's check of app (the read was refused).
func (c *staleCreds) dropApp(sum [sha256.Size]byte, app string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tc := c.byToken[sum]; tc != nil {
		if _, ok := tc.apps[app]; ok {
			delete(tc.apps, app)
			c.n--
		}
		if len(tc.apps) == 0 {
			c.dropLocked(sum)
		}
	}
}

// forget drops the token id (revoked, rewritten or expired).
func (c *staleCreds) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if sum, ok := c.byID[id]; ok {
		c.dropLocked(sum)
	}
}

// setLive empties the kept checks and turns keeping on (the token watch
// opened: changes before it were not seen) or off (it ended).
func (c *staleCreds) setLive(live bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.live = live
	if live {
		clear(c.byToken)
		clear(c.byID)
		c.n = 0
	}
}

func (c *staleCreds) dropLocked(sum [sha256.Size]byte) {
	tc := c.byToken[sum]
	if tc == nil {
		return
	}
	c.n -= len(tc.apps)
	delete(c.byToken, sum)
	if c.byID[tc.id] == sum {
		delete(c.byID, tc.id)
	}
}
