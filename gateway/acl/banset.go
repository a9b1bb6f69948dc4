package acl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gaissmai/bart"

	"github.com/wharfhq/wharf/internal/store"
)

// Defaults for BanSetOptions.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 5 * time.Second
	// maxBatch is how many queued watch events are applied before a new
	// snapshot is published.
	maxBatch = 512
)

// BanSetOptions configures NewBanSet.
type BanSetOptions struct {
	// Prefix is the store key prefix (default DefaultBanPrefix).
	Prefix string
	// OpTimeout bounds each List call (default DefaultOpTimeout).
	OpTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before re-listing after the
	// watch failed (defaults DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// Now is the clock used to ignore bans past ExpiresAt (default time.Now).
	Now func() time.Time
	// Logger receives sync errors; nil discards them.
	Logger *slog.Logger
}

// banEntry is one ban in the in-memory tables; immutable once published.
type banEntry struct {
	ban Ban
	exp int64 // ExpiresAt in unix nanoseconds; 0 never expires
}

type banTable = bart.Table[*banEntry]

// banSnap is an immutable view of all bans, swapped atomically.
type banSnap struct {
	global *banTable
	routes map[string]*banTable
	n      int
}

// keyRef says where the ban of one store key sits in the tables.
type keyRef struct {
	route  string
	prefix netip.Prefix
}

// BanSet mirrors the bans in the store in memory, for lookups on the hot
// path. Run keeps it in sync: it lists the bans, then watches the prefix from
// the list's revision, and starts over (with backoff) when the watch ends.
// Lookups are lock-free and do not allocate.
type BanSet struct {
	st     store.Store
	opts   BanSetOptions
	log    *slog.Logger
	snap   atomic.Pointer[banSnap]
	ready  chan struct{}
	ready1 atomic.Bool

	// owned by Run
	keys map[string]keyRef
}

// NewBanSet returns an empty BanSet over st; call Run to fill and sync it.
func NewBanSet(opts BanSetOptions, st store.Store) (*BanSet, error) {
	if st == nil {
		return nil, errors.New("cannot create ban set: nil store")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultBanPrefix
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &BanSet{
		st: st, opts: opts, ready: make(chan struct{}),
		log: logger.With("component", "acl", "part", "banset"),
	}
	s.snap.Store(&banSnap{global: new(banTable), routes: map[string]*banTable{}})
	return s, nil
}

// Ready is closed once the first full list has been loaded.
func (s *BanSet) Ready() <-chan struct{} { return s.ready }

// Len returns the number of bans held in memory, including ones past their
// expiry whose expire event has not arrived yet.
func (s *BanSet) Len() int { return s.snap.Load().n }

// Banned reports the global ban covering addr, the most specific one that
// has not expired. It does not allocate.
func (s *BanSet) Banned(addr netip.Addr) (Ban, bool) {
	if !addr.IsValid() {
		return Ban{}, false
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	snap := s.snap.Load()
	if e := s.lookup(snap.global, addr); e != nil {
		return e.ban, true
	}
	return Ban{}, false
}

// BannedOn reports a global ban, or else a ban on route, covering addr.
// It does not allocate.
func (s *BanSet) BannedOn(route string, addr netip.Addr) (Ban, bool) {
	if !addr.IsValid() {
		return Ban{}, false
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	snap := s.snap.Load()
	if e := s.lookup(snap.global, addr); e != nil {
		return e.ban, true
	}
	if t := snap.routes[route]; t != nil {
		if e := s.lookup(t, addr); e != nil {
			return e.ban, true
		}
	}
	return Ban{}, false
}

func (s *BanSet) lookup(t *banTable, addr netip.Addr) *banEntry {
	e, ok := t.Lookup(addr)
	if !ok {
		return nil
	}
	if e.exp == 0 {
		return e
	}
	now := s.opts.Now().UnixNano()
	if now < e.exp {
		return e
	}
	// The most specific ban has expired but its event is late: a shorter,
	// live ban may still cover addr. Rare, so the iterator is fine here.
	for _, c := range t.Supernets(netip.PrefixFrom(addr, addr.BitLen())) {
		if c.exp == 0 || now < c.exp {
			return c
		}
	}
	return nil
}

// Run keeps the set in sync with the store until ctx is done, then returns
// nil. Failures (list errors, ErrCompacted, a closed watch) are logged and
// retried with exponential backoff; the last good snapshot stays in use.
func (s *BanSet) Run(ctx context.Context) error {
	backoff := s.opts.MinBackoff
	for {
		listed, err := s.syncOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if listed {
			backoff = s.opts.MinBackoff
		}
		s.log.Warn("ban sync interrupted, starting over", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

var errWatchClosed = errors.New("watch channel closed")

// syncOnce lists, publishes, then applies watch events until the watch ends.
func (s *BanSet) syncOnce(ctx context.Context) (listed bool, err error) {
	keys := map[string]keyRef{}
	global := new(banTable)
	routes := map[string]*banTable{}
	rev, err := listAll(ctx, s.st, s.opts.Prefix, s.opts.OpTimeout, func(e store.Entry) {
		b, err := decodeBan(e.Key, s.opts.Prefix, e.Value)
		if err != nil {
			s.log.Warn("skipping bad ban", "key", e.Key, "err", err)
			return
		}
		t := global
		if b.Route != "" {
			if t = routes[b.Route]; t == nil {
				t = new(banTable)
				routes[b.Route] = t
			}
		}
		t.Insert(b.Prefix, newEntry(b))
		keys[e.Key] = keyRef{route: b.Route, prefix: b.Prefix}
	})
	if err != nil {
		return false, fmt.Errorf("cannot list bans: %w", err)
	}
	s.keys = keys
	s.snap.Store(&banSnap{global: global, routes: routes, n: len(keys)})
	if s.ready1.CompareAndSwap(false, true) {
		close(s.ready)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := s.st.Watch(wctx, s.opts.Prefix, rev)
	if err != nil {
		return true, fmt.Errorf("cannot watch bans: %w", err)
	}
	for {
		var ev store.Event
		var ok bool
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case ev, ok = <-ch:
		}
		if !ok {
			return true, errWatchClosed
		}
		next := s.snap.Load()
		cur := &banSnap{global: next.global, routes: next.routes}
		copied := false
		for n := 0; ; n++ {
			if ev.Err != nil {
				s.publish(cur)
				return true, fmt.Errorf("cannot watch bans: %w", ev.Err)
			}
			s.apply(cur, &copied, ev)
			if n >= maxBatch {
				break
			}
			select {
			case ev, ok = <-ch:
				if !ok {
					s.publish(cur)
					return true, errWatchClosed
				}
				continue
			default:
			}
			break
		}
		s.publish(cur)
	}
}

func (s *BanSet) publish(cur *banSnap) {
	cur.n = len(s.keys)
	s.snap.Store(cur)
}

func newEntry(b Ban) *banEntry {
	e := &banEntry{ban: b}
	if !b.ExpiresAt.IsZero() {
		e.exp = b.ExpiresAt.UnixNano()
	}
	return e
}

// apply applies one event to cur with persistent (copy-on-write) updates, so
// the published snapshot is never modified.
func (s *BanSet) apply(cur *banSnap, copied *bool, ev store.Event) {
	setRoute := func(route string, t *banTable) {
		if !*copied {
			cur.routes = maps.Clone(cur.routes)
			*copied = true
		}
		if t == nil || t.Size() == 0 {
			delete(cur.routes, route)
		} else {
			cur.routes[route] = t
		}
	}
	remove := func(ref keyRef) {
		if ref.route == "" {
			cur.global = cur.global.DeletePersist(ref.prefix)
			return
		}
		if t := cur.routes[ref.route]; t != nil {
			setRoute(ref.route, t.DeletePersist(ref.prefix))
		}
	}
	if old, ok := s.keys[ev.Key]; ok {
		remove(old)
		delete(s.keys, ev.Key)
	}
	if ev.Type != store.EventPut {
		return
	}
	b, err := decodeBan(ev.Key, s.opts.Prefix, ev.Value)
	if err != nil {
		s.log.Warn("skipping bad ban", "key", ev.Key, "err", err)
		return
	}
	e := newEntry(b)
	if b.Route == "" {
		cur.global = cur.global.InsertPersist(b.Prefix, e)
	} else {
		t := cur.routes[b.Route]
		if t == nil {
			t = new(banTable)
		}
		setRoute(b.Route, t.InsertPersist(b.Prefix, e))
	}
	s.keys[ev.Key] = keyRef{route: b.Route, prefix: b.Prefix}
}
