package gateway

import (
	"context"
	"time"

	"github.com/wharfhq/wharf/gateway/registry"
)

// onRegistry follows a registry change: a heartbeat that only brings new
// loads or weights updates the live services' balancer weights in place;
// an instance that came, went or changed version rebuilds the snapshot.
// It also tells the expiry loop the next instance expiry, so an instance
// whose store expiry event is late still leaves the pools when its TTL
// runs out.
func (g *Gateway) onRegistry(s *registry.Snapshot) {
	g.rebuildMu.Lock()
	services, loads := g.registered(g.edgeNow.Services)
	if g.state.reweigh(services, loads) {
		g.reweighs.Add(1)
	} else {
		g.rebuildLocked("registry changed")
	}
	g.rebuildMu.Unlock()
	g.expiryMu.Lock()
	g.expiry = s.NextExpiry()
	g.expiryMu.Unlock()
	select {
	case g.expiryKick <- struct{}{}:
	default:
	}
}

// followExpiry rebuilds when the next registered instance's TTL runs out
// (see onRegistry), until ctx ends.
func (g *Gateway) followExpiry(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.expiryKick:
			g.expiryMu.Lock()
			next := g.expiry
			g.expiryMu.Unlock()
			t.Stop()
			if !next.IsZero() {
				t.Reset(time.Until(next) + 10*time.Millisecond)
			}
		case <-t.C:
			g.rebuild("instance TTL ran out")
		}
	}
}
