package acl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"sort"
	"time"

	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/store"
)

// DefaultBanPrefix is the store key prefix under which bans live.
const DefaultBanPrefix = "gateway/bans/"

// DefaultOpTimeout bounds every store call of BanManager and BanSet.
const DefaultOpTimeout = 5 * time.Second

// Ban is one temporary ban, stored as JSON under
// <prefix>g/<escaped CIDR> (global) or <prefix>r/<escaped route>/<escaped CIDR>
// (route-scoped), with the store's TTL so it disappears by itself.
type Ban struct {
	Prefix    netip.Prefix `json:"prefix"`
	Reason    string       `json:"reason"`
	CreatedBy string       `json:"created_by"`
	CreatedAt time.Time    `json:"created_at"`
	ExpiresAt time.Time    `json:"expires_at"`
	// Auto is true for bans placed by a Tracker.
	Auto bool `json:"auto"`
	// Route scopes the ban to one route; empty bans the client everywhere.
	Route string `json:"route,omitempty"`
}

// BanRequest describes a ban for BanManager.BanWith.
type BanRequest struct {
	Prefix netip.Prefix
	TTL    time.Duration
	Reason string
	By     string
	Route  string
	Auto   bool
}

// BanManagerOptions configures NewBanManager.
type BanManagerOptions struct {
	// Prefix is the store key prefix (default DefaultBanPrefix).
	Prefix string
	// OpTimeout bounds each store call (default DefaultOpTimeout).
	OpTimeout time.Duration
	// MaxTTL caps a ban's TTL; zero means no cap.
	MaxTTL time.Duration
	// Now is the clock for CreatedAt/ExpiresAt (default time.Now).
	Now func() time.Time
	// IPv6Prefix is the gateway's ipv6_prefix: a manual ban or unban of an
	// IPv6 prefix narrower than this covers the whole /IPv6Prefix, as rate
	// limits and automatic bans do (default DefaultIPv6Bits; 1-128).
	IPv6Prefix int
}

// BanManager writes, removes and lists bans in the store. It is safe for
// concurrent use and keeps no state of its own.
type BanManager struct {
	st   store.Store
	opts BanManagerOptions
}

// NewBanManager returns a BanManager over st.
func NewBanManager(opts BanManagerOptions, st store.Store) (*BanManager, error) {
	if st == nil {
		return nil, errors.New("cannot create ban manager: nil store")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultBanPrefix
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IPv6Prefix == 0 {
		opts.IPv6Prefix = DefaultIPv6Bits
	}
	if opts.IPv6Prefix < 1 || opts.IPv6Prefix > 128 {
		return nil, fmt.Errorf("cannot create ban manager: IPv6Prefix %d out of range 1-128", opts.IPv6Prefix)
	}
	return &BanManager{st: st, opts: opts}, nil
}

// Covered returns the prefix a ban of p covers: p itself, or for an IPv6
// prefix narrower than the gateway's ipv6_prefix (a single address, say)
// the whole /IPv6Prefix it lies in, because the gateway limits and bans
// IPv6 clients by that prefix (a client owns its /64 and can pick any
// address in it). An invalid p is returned unchanged.
func (m *BanManager) Covered(p netip.Prefix) netip.Prefix {
	n, err := cidr.Normalize(p)
	if err != nil {
		return p
	}
	if n.Addr().Is6() && n.Bits() > m.opts.IPv6Prefix {
		return netip.PrefixFrom(n.Addr(), m.opts.IPv6Prefix).Masked()
	}
	return n
}

// BanKey returns the store key of a ban of prefix p (normalized) on route
// ("" for a global ban) under keyPrefix.
func BanKey(keyPrefix, route string, p netip.Prefix) string {
	if route == "" {
		return keyPrefix + "g/" + url.PathEscape(p.String())
	}
	return keyPrefix + "r/" + url.PathEscape(route) + "/" + url.PathEscape(p.String())
}

// Ban bans prefix (an IP is a /32 or /128 prefix) everywhere for ttl.
func (m *BanManager) Ban(ctx context.Context, prefix netip.Prefix, ttl time.Duration, reason, by string) (Ban, error) {
	return m.BanWith(ctx, BanRequest{Prefix: prefix, TTL: ttl, Reason: reason, By: by})
}

// BanWith places the ban described by req, on the prefix it covers (see
// Covered). A manual ban replaces an existing ban of the same prefix and
// route; an auto ban never shortens one that lasts longer — the existing
// ban is returned instead.
func (m *BanManager) BanWith(ctx context.Context, req BanRequest) (Ban, error) {
	p, err := cidr.Normalize(req.Prefix)
	if err != nil {
		return Ban{}, fmt.Errorf("cannot ban %s: %w", req.Prefix, err)
	}
	p = m.Covered(p)
	if req.TTL <= 0 {
		return Ban{}, fmt.Errorf("cannot ban %s: TTL must be positive, got %v", p, req.TTL)
	}
	if m.opts.MaxTTL > 0 && req.TTL > m.opts.MaxTTL {
		req.TTL = m.opts.MaxTTL
	}
	now := m.opts.Now().UTC().Truncate(time.Millisecond)
	b := Ban{
		Prefix: p, Reason: req.Reason, CreatedBy: req.By, CreatedAt: now,
		ExpiresAt: now.Add(req.TTL), Auto: req.Auto, Route: req.Route,
	}
	val, err := json.Marshal(b)
	if err != nil {
		return Ban{}, fmt.Errorf("cannot encode ban of %s: %w", p, err)
	}
	key := BanKey(m.opts.Prefix, req.Route, p)
	put := store.PutOptions{TTL: req.TTL}
	if !req.Auto {
		cctx, cancel := context.WithTimeout(ctx, m.opts.OpTimeout)
		defer cancel()
		if _, err := m.st.Put(cctx, key, val, put); err != nil {
			return Ban{}, fmt.Errorf("cannot ban %s: %w", p, err)
		}
		return b, nil
	}
	out := b
	err = store.Retry(ctx, store.RetryOptions{Attempts: 5}, func(ctx context.Context) error {
		cur, ver, err := m.get(ctx, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err == nil && cur.ExpiresAt.After(b.ExpiresAt) {
			out = cur
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, m.opts.OpTimeout)
		defer cancel()
		_, err = m.st.CompareAndSwap(cctx, key, ver, val, put)
		return store.AsConflict(err)
	})
	if err != nil {
		return Ban{}, fmt.Errorf("cannot ban %s: %w", p, err)
	}
	return out, nil
}

func (m *BanManager) get(ctx context.Context, key string) (Ban, uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, m.opts.OpTimeout)
	defer cancel()
	e, err := m.st.Get(cctx, key)
	if err != nil {
		return Ban{}, 0, err
	}
	var b Ban
	if err := json.Unmarshal(e.Value, &b); err != nil {
		// An unreadable value is overwritten.
		return Ban{}, e.Version, nil
	}
	return b, e.Version, nil
}

// Unban removes the global ban of prefix. It returns an error wrapping
// store.ErrNotFound when there is none.
func (m *BanManager) Unban(ctx context.Context, prefix netip.Prefix) error {
	return m.UnbanRoute(ctx, "", prefix)
}

// UnbanRoute removes the ban of prefix on route ("" for the global ban);
// an IPv6 address lifts the ban of the prefix it is covered by (see Covered).
func (m *BanManager) UnbanRoute(ctx context.Context, route string, prefix netip.Prefix) error {
	p, err := cidr.Normalize(prefix)
	if err != nil {
		return fmt.Errorf("cannot unban %s: %w", prefix, err)
	}
	p = m.Covered(p)
	cctx, cancel := context.WithTimeout(ctx, m.opts.OpTimeout)
	defer cancel()
	if _, err := m.st.Delete(cctx, BanKey(m.opts.Prefix, route, p)); err != nil {
		return fmt.Errorf("cannot unban %s: %w", p, err)
	}
	return nil
}

// List returns every ban that has not expired, global ones first, each group
// sorted by prefix. Values that do not decode are skipped.
func (m *BanManager) List(ctx context.Context) ([]Ban, error) {
	var out []Ban
	now := m.opts.Now()
	_, err := listAll(ctx, m.st, m.opts.Prefix, m.opts.OpTimeout, func(e store.Entry) {
		b, err := decodeBan(e.Key, m.opts.Prefix, e.Value)
		if err != nil || !now.Before(b.ExpiresAt) {
			return
		}
		out = append(out, b)
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list bans: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Route != out[j].Route {
			return out[i].Route < out[j].Route
		}
		return out[i].Prefix.String() < out[j].Prefix.String()
	})
	return out, nil
}

// listAll pages through prefix and returns the first page's revision:
// watching from it and replaying changes over the listed state converges,
// because puts and deletes are idempotent and applied in order.
func listAll(ctx context.Context, st store.Store, prefix string, timeout time.Duration, fn func(store.Entry)) (uint64, error) {
	var rev uint64
	first := true
	for page, err := range store.Pages(ctx, st, prefix, store.ScanOptions{PageTimeout: timeout}) {
		if err != nil {
			return 0, err
		}
		if first {
			rev, first = page.Revision, false
		}
		for _, e := range page.Entries {
			fn(e)
		}
	}
	return rev, nil
}

// decodeBan decodes a stored ban and checks it against its key, so a value
// written by hand under the wrong key cannot ban something else.
func decodeBan(key, keyPrefix string, val []byte) (Ban, error) {
	var b Ban
	if err := json.Unmarshal(val, &b); err != nil {
		return Ban{}, fmt.Errorf("cannot decode ban %s: %w", key, err)
	}
	p, err := cidr.Normalize(b.Prefix)
	if err != nil {
		return Ban{}, fmt.Errorf("cannot decode ban %s: %w", key, err)
	}
	b.Prefix = p
	if BanKey(keyPrefix, b.Route, p) != key {
		return Ban{}, fmt.Errorf("cannot decode ban %s: key does not match prefix %s route %q", key, p, b.Route)
	}
	return b, nil
}
