package tenancy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Store keys.
const (
	hostsPrefix      = "tenancy/hosts/"
	placementsPrefix = "tenancy/placements/"
	// DefaultOpTimeout bounds every store call.
	DefaultOpTimeout = 5 * time.Second
	maxCASRetries    = 10
)

// ErrHostTaken is returned by BindHost when the host id is bound to
// another agent token.
var ErrHostTaken = errors.New("host is bound to another agent token")

// ErrAdvertiseFixed is returned by BindHost when the token holding a host
// announces an address other than the one the host was bound with.
var ErrAdvertiseFixed = errors.New("host's advertised address is fixed while it is bound")

// ErrKeyFixed is returned by BindHost when the token holding a host
// announces an event-signing key other than the one bound to the host
// (or none, once one is bound).
var ErrKeyFixed = errors.New("host's event-signing key is fixed while it is bound")

// Binding records which agent token a deploy host belongs to and the
// address its instances are advertised on.
type Binding struct {
	Host string `json:"host"`
	// TokenID is the id (never the secret) of the agent token that first
	// sent the host's heartbeat.
	TokenID string `json:"token_id"`
	// Advertise is the host part of the host's instance addresses: what the
	// heartbeat says, or the address the heartbeat came from.
	Advertise string `json:"advertise"`
	// PublicKey is the Ed25519 public key the host's agent signs its
	// events with; empty for an agent of the previous release, whose
	// events are unsigned. Once set it is fixed while the host is bound.
	PublicKey []byte    `json:"public_key,omitempty"`
	BoundAt   time.Time `json:"bound_at"`
}

// Options configures a Hosts.
type Options struct {
	OpTimeout time.Duration // default DefaultOpTimeout
	Now       func() time.Time
}

// Hosts keeps host bindings and app placements in the store. It is safe
// for concurrent use and keeps no state of its own.
type Hosts struct {
	st     store.Store
	tokens *auth.Service
	opts   Options
}

// New returns a Hosts over st.
func New(st store.Store, opts Options) *Hosts {
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Hosts{st: st, tokens: auth.NewService(st), opts: opts}
}

func hostKey(host string) string           { return hostsPrefix + host }
func placementKey(app, host string) string { return placementsPrefix + app + "/" + host }

func (h *Hosts) ctx(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, h.opts.OpTimeout)
}

// Host returns the binding of host; ok is false when it has none.
func (h *Hosts) Host(ctx context.Context, host string) (b Binding, version uint64, ok bool, err error) {
	cctx, cancel := h.ctx(ctx)
	defer cancel()
	e, err := h.st.Get(cctx, hostKey(host))
	if errors.Is(err, store.ErrNotFound) {
		return Binding{}, 0, false, nil
	}
	if err != nil {
		return Binding{}, 0, false, fmt.Errorf("cannot read the binding of host %s: %w", host, err)
	}
	if err := json.Unmarshal(e.Value, &b); err != nil {
		return Binding{}, 0, false, fmt.Errorf("cannot decode the binding of host %s: %w", host, err)
	}
	return b, e.Version, true, nil
}

// BindHost binds host to the agent token tokenID, with the address its
// instances may be registered on and the public key its agent signs
// events with (nil for an agent of the previous release), if it has no
// binding or its token was revoked. It returns ErrHostTaken when another
// token holds the host, ErrAdvertiseFixed (with the binding) when the
// holder announces another address, and ErrKeyFixed (with the binding)
// when it announces another key than the bound one: only an admin, by
// releasing the host, lets them change. A binding without a key takes
// the first key its holder announces (the agent was upgraded); announcing
// none leaves a bound key in place.
func (h *Hosts) BindHost(ctx context.Context, host, tokenID, advertise string, key []byte) (Binding, error) {
	var out Binding
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		b, ver, ok, err := h.Host(ctx, host)
		if err != nil {
			return err
		}
		if ok && b.TokenID != tokenID {
			cctx, cancel := h.ctx(ctx)
			alive, err := h.tokens.Exists(cctx, b.TokenID)
			cancel()
			switch {
			case err != nil:
				return fmt.Errorf("cannot check the agent token of host %s: %w", host, err)
			case alive:
				return ErrHostTaken
			}
			ok = false // its token was revoked: the host is free
		}
		switch {
		case ok && !strings.EqualFold(b.Advertise, advertise):
			// The address instances may be registered on is fixed when
			// the host is bound: a stolen agent token must not point the
			// apps deployed there at an address of its choosing.
			out = b
			return ErrAdvertiseFixed
		case ok && (len(key) == 0 || bytes.Equal(b.PublicKey, key)):
			// No key (an agent of the previous release) changes nothing:
			// a bound key stays, and unsigned events are refused.
			out = b
			return nil
		case ok && len(b.PublicKey) > 0:
			// The key events are verified with is fixed too: a stolen
			// agent token must not let its holder sign events for the host.
			out = b
			return ErrKeyFixed
		case ok:
			b.PublicKey = bytes.Clone(key) // the first key of an upgraded agent
		default:
			b = Binding{Host: host, TokenID: tokenID, BoundAt: h.opts.Now().UTC(), Advertise: advertise, PublicKey: bytes.Clone(key)}
		}
		val, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("cannot encode the binding of host %s: %w", host, err)
		}
		cctx, cancel := h.ctx(ctx)
		_, err = h.st.CompareAndSwap(cctx, hostKey(host), ver, val, store.PutOptions{})
		cancel()
		if err != nil {
			return fmt.Errorf("cannot bind host %s: %w", host, store.AsConflict(err))
		}
		out = b
		return nil
	})
	return out, err
}

// ReleaseHost removes host's binding (an admin's decision, e.g. after the
// agent token was replaced); it reports whether there was one.
func (h *Hosts) ReleaseHost(ctx context.Context, host string) (bool, error) {
	cctx, cancel := h.ctx(ctx)
	defer cancel()
	_, err := h.st.Delete(cctx, hostKey(host))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot release host %s: %w", host, err)
	}
	return true, nil
}

// Place records that a deploy of app targets host: its agent may then
// register the app's instances.
func (h *Hosts) Place(ctx context.Context, app, host string) error {
	cctx, cancel := h.ctx(ctx)
	defer cancel()
	if _, err := h.st.Put(cctx, placementKey(app, host), []byte(h.opts.Now().UTC().Format(time.RFC3339Nano)), store.PutOptions{}); err != nil {
		return fmt.Errorf("cannot record that %s is deployed to %s: %w", app, host, err)
	}
	return nil
}

// Placed reports whether a deploy of app ever targeted host.
func (h *Hosts) Placed(ctx context.Context, app, host string) (bool, error) {
	cctx, cancel := h.ctx(ctx)
	defer cancel()
	_, err := h.st.Get(cctx, placementKey(app, host))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read whether %s is deployed to %s: %w", app, host, err)
	}
	return true, nil
}

// AgentServes reports whether app was deployed to one of the hosts bound
// to the agent token tokenID.
func (h *Hosts) AgentServes(ctx context.Context, tokenID, app string) (bool, error) {
	for e, err := range store.Entries(ctx, h.st, hostsPrefix, store.ScanOptions{PageTimeout: h.opts.OpTimeout}) {
		if err != nil {
			return false, fmt.Errorf("cannot list host bindings: %w", err)
		}
		var b Binding
		if json.Unmarshal(e.Value, &b) != nil || b.TokenID != tokenID {
			continue
		}
		if ok, err := h.Placed(ctx, app, b.Host); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// Access is AppAccess, and for an agent token that reads the app only as
// an agent, the check that the app was deployed to one of its hosts
// (NotFound otherwise, like a missing app).
func (h *Hosts) Access(ctx context.Context, p auth.Principal, app, owner string, write bool) error {
	if err := AppAccess(p, app, owner, write); err != nil {
		return err
	}
	if write || p.Allows(auth.TeamScope(owner)) { // admin included
		return nil
	}
	ok, err := h.AgentServes(ctx, p.TokenID, app)
	if err != nil {
		return httperr.Unavailable(err, "cannot check the hosts of the agent token: store unavailable")
	}
	if !ok {
		return NotFound(app)
	}
	return nil
}
