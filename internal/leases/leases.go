// Package leases splits a fixed set of shards between the live members of
// a group through leases in the store: every member announces itself with
// a TTL, takes an even share of the shards, renews its leases by
// compare-and-swap every TTL/3 and runs a shard's work only while it holds
// the shard's lease (started after the lease is taken, stopped before it
// is released). Every store call of a round is bounded to TTL/6, and a
// round that cannot reach the store ends there, stopping the shards last
// renewed more than TTL/2 ago: a member cut off from the store (calls
// failing or hanging) gives its shards up before its leases expire. A
// dead member's shards are taken within about TTL + TTL/3.
//
// Store layout (both prefixes chosen by the user of the package):
//
//	<MemberPrefix><node id>  the member's Value, with a TTL
//	<LeasePrefix><shard>     the holder's Value, with a TTL
package leases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// Lease changes passed to Options.OnChange.
const (
	Taken    = "taken"    // a free lease was taken and its work started
	Released = "released" // the work was stopped and the lease given back: above the share (another member joined)
	Stopped  = "stopped"  // the work was stopped and the lease given back: the manager stopped
	Lost     = "lost"     // the lease could not be renewed (another holder, store cut off)
)

// Options configure a Manager. Zero values get the defaults noted.
type Options struct {
	// Store keeps the leases and the members. Required.
	Store store.Store
	// LeasePrefix and MemberPrefix are where leases and members live. Required.
	LeasePrefix, MemberPrefix string
	// NodeID names this member. Required; a valid store key part.
	NodeID string
	// Value is stored in this member's record and in every lease it
	// holds, and tells its leases from others'. Default: NodeID. It must
	// be unique to this member (include NodeID in it).
	Value []byte
	// Shards is the number of shards, 0..Shards-1. Required.
	Shards int
	// TTL is how long a lease outlives its holder. Default 9s.
	TTL time.Duration
	// Prefer ranks shards: of the shards above its share a member keeps
	// those ranked highest, and of the free ones it takes those first
	// (a shard whose data is already on this node's disk). Nil: by index.
	Prefer func(shard int) int64
	// Start starts the work of a shard whose lease was just taken; an
	// error gives the lease back. Required.
	Start func(ctx context.Context, shard int) error
	// Stop stops the work of a shard before its lease is released (or
	// after it is lost). Required. ReleaseAll stops every shard at once:
	// Stop (and OnChange) must be safe for concurrent calls of different
	// shards.
	Stop func(shard int)
	// OnChange is told about every lease change (Taken, Released,
	// Stopped, Lost), after Start or Stop; nil: nothing.
	OnChange func(change string, shard int)
	// Logger; nil discards.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	switch {
	case o.Store == nil:
		return errors.New("cannot create lease manager: Store is required")
	case o.LeasePrefix == "" || o.MemberPrefix == "":
		return errors.New("cannot create lease manager: LeasePrefix and MemberPrefix are required")
	case o.Shards < 1:
		return fmt.Errorf("cannot create lease manager: shards must be positive, got %d", o.Shards)
	case o.Start == nil || o.Stop == nil:
		return errors.New("cannot create lease manager: Start and Stop are required")
	case o.NodeID == "" || !store.ValidKey(o.MemberPrefix+o.NodeID):
		return fmt.Errorf("cannot create lease manager: node ID %q is not a valid key part", o.NodeID)
	}
	if len(o.Value) == 0 {
		o.Value = []byte(o.NodeID)
	}
	if o.TTL == 0 {
		o.TTL = 9 * time.Second
	}
	if o.TTL < 30*time.Millisecond {
		return fmt.Errorf("cannot create lease manager: lease TTL %v is too short", o.TTL)
	}
	if o.Prefer == nil {
		o.Prefer = func(int) int64 { return 0 }
	}
	if o.OnChange == nil {
		o.OnChange = func(string, int) {}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// held is a lease this member holds: its version and last renewal.
type held struct {
	version uint64
	renewed time.Time
}

// Manager holds this member's share of the leases. Create it with New;
// Run it, or call Balance and ReleaseAll from a loop of one's own.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	owned map[int]*held
}

// New checks opts and returns a Manager.
func New(opts Options) (*Manager, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	return &Manager{opts: opts, log: opts.Logger, owned: map[int]*held{}}, nil
}

// Key is the store key of shard i's lease.
func (m *Manager) Key(i int) string { return m.opts.LeasePrefix + strconv.Itoa(i) }

// TTL returns the lease TTL.
func (m *Manager) TTL() time.Duration { return m.opts.TTL }

// Owned returns the shards whose lease this member holds, ascending.
func (m *Manager) Owned() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]int, 0, len(m.owned))
	for i := range m.owned {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// Holds reports whether this member holds shard i's lease.
func (m *Manager) Holds(i int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.owned[i] != nil
}

// Run balances at once and every TTL/3 until ctx ends, then stops the
// work of every shard and releases the leases and the membership.
func (m *Manager) Run(ctx context.Context) error {
	defer m.ReleaseAll()
	m.Balance(ctx)
	t := time.NewTicker(m.opts.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.Balance(ctx)
		}
	}
}

// Holders reads the leases under prefix: shard -> the holder's value.
// Entries that are not a shard number below shards are ignored.
func Holders(ctx context.Context, st store.Store, prefix string, shards int) (map[int][]byte, error) {
	out := map[int][]byte{}
	for e, err := range store.Entries(ctx, st, prefix, store.ScanOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list shard leases: %w", err)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(e.Key, prefix))
		if err != nil || i < 0 || i >= shards {
			continue
		}
		out[i] = e.Value
	}
	return out, nil
}

// Balance announces this member, renews its leases, gives up the shards
// above its even share and takes free ones up to it, preferred first.
func (m *Manager) Balance(ctx context.Context) {
	ttl := store.PutOptions{TTL: m.opts.TTL}
	octx, cancel := m.op(ctx)
	_, err := m.opts.Store.Put(octx, m.opts.MemberPrefix+m.opts.NodeID, m.opts.Value, ttl)
	cancel()
	if err != nil {
		m.log.Warn("cannot announce member", "err", err)
		m.dropStale()
		return
	}
	members := 0
	octx, cancel = m.op(ctx)
	for _, err := range store.Entries(octx, m.opts.Store, m.opts.MemberPrefix, store.ScanOptions{}) {
		if err != nil {
			cancel()
			m.log.Warn("cannot list members", "err", err)
			m.dropStale()
			return
		}
		members++
	}
	cancel()
	members = max(members, 1)
	share := (m.opts.Shards + members - 1) / members
	taken := map[int]uint64{} // shard -> version when mine, 0 when someone else's
	octx, cancel = m.op(ctx)
	defer cancel()
	for e, err := range store.Entries(octx, m.opts.Store, m.opts.LeasePrefix, store.ScanOptions{}) {
		if err != nil {
			m.log.Warn("cannot list shard leases", "err", err)
			m.dropStale()
			return
		}
		i, err := strconv.Atoi(strings.TrimPrefix(e.Key, m.opts.LeasePrefix))
		if err != nil || i < 0 || i >= m.opts.Shards {
			continue
		}
		if string(e.Value) == string(m.opts.Value) {
			taken[i] = e.Version
		} else {
			taken[i] = 0
		}
	}
	mine := 0
	for _, i := range m.byPreference(m.Owned()) {
		v, ok := taken[i]
		if !ok || v == 0 {
			m.drop(ctx, i, false, Lost)
			continue
		}
		if mine >= share {
			m.drop(ctx, i, true, Released)
			continue
		}
		octx, cancel := m.op(ctx)
		nv, err := m.opts.Store.CompareAndSwap(octx, m.Key(i), v, m.opts.Value, ttl)
		cancel()
		if errors.Is(err, store.ErrNotFound) {
			err = store.ErrConflict // expired: lost like one another member took
		}
		if err != nil && !errors.Is(err, store.ErrConflict) {
			m.log.Warn("cannot renew shard lease", "shard", i, "err", err)
			m.dropStale() // the store does not answer: no more calls this round
			return
		}
		if err != nil {
			m.log.Warn("lost shard lease", "shard", i, "err", err)
			m.drop(ctx, i, false, Lost)
			continue
		}
		m.renewed(i, nv)
		mine++
	}
	var free []int
	for i := range m.opts.Shards {
		if _, ok := taken[i]; !ok {
			free = append(free, i)
		}
	}
	for _, i := range m.byPreference(free) {
		if mine >= share {
			return
		}
		octx, cancel := m.op(ctx)
		v, err := m.opts.Store.CompareAndSwap(octx, m.Key(i), 0, m.opts.Value, ttl)
		cancel()
		if err != nil {
			if !errors.Is(err, store.ErrConflict) {
				m.log.Warn("cannot take shard lease", "shard", i, "err", err)
				return
			}
			continue
		}
		var startErr error
		m.renewing(ctx, i, &v, func() { startErr = m.opts.Start(ctx, i) })
		if startErr != nil {
			m.log.Warn("cannot start shard", "shard", i, "err", startErr)
			octx, cancel := m.op(ctx)
			_, _ = m.opts.Store.CompareAndDelete(octx, m.Key(i), v)
			cancel()
			continue
		}
		// Still ours after a start that may have been slow: renew it now,
		// or stop the work if another member holds the lease.
		octx, cancel = m.op(ctx)
		nv, err := m.opts.Store.CompareAndSwap(octx, m.Key(i), v, m.opts.Value, ttl)
		cancel()
		if err != nil {
			m.log.Warn("lost shard lease while starting it", "shard", i, "err", err)
			m.opts.Stop(i)
			continue
		}
		v = nv
		m.mu.Lock()
		m.owned[i] = &held{version: v, renewed: time.Now()}
		m.mu.Unlock()
		m.opts.OnChange(Taken, i)
		m.log.Info("took shard", "shard", i)
		mine++
	}
}

// renewing runs fn (a shard's Start or Stop, which may take long: a
// store's recovery, a consumer's in-flight messages) while renewing,
// every TTL/3, every lease this member holds and shard i's at *v, so
// that no lease expires under work still running and no other member
// takes a shard this one still runs.
func (m *Manager) renewing(ctx context.Context, i int, v *uint64, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	t := time.NewTicker(m.opts.TTL / 3)
	defer t.Stop()
	ttl := store.PutOptions{TTL: m.opts.TTL}
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		versions := map[int]uint64{i: *v}
		m.mu.Lock()
		for j, h := range m.owned {
			versions[j] = h.version
		}
		m.mu.Unlock()
		for j, ver := range versions {
			octx, cancel := m.op(ctx)
			nv, err := m.opts.Store.CompareAndSwap(octx, m.Key(j), ver, m.opts.Value, ttl)
			cancel()
			if err != nil {
				m.log.Warn("cannot renew shard lease while a shard starts or stops", "shard", j, "err", err)
				continue
			}
			if j == i {
				*v = nv
			} else {
				m.renewed(j, nv)
			}
		}
	}
}

// op bounds one store call of a round to a sixth of the TTL: a member
// cut off from the store (calls hang rather than fail) gives up a shard
// not renewed for TTL/2 at most TTL/6 after the round that notices it,
// which starts at most 2×TTL/3 after the last renewal: by 5×TTL/6, before
// the lease expires.
func (m *Manager) op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.opts.TTL/6)
}

// byPreference sorts shards by Prefer, highest first, then by index.
func (m *Manager) byPreference(shards []int) []int {
	rank := make(map[int]int64, len(shards))
	for _, i := range shards {
		rank[i] = m.opts.Prefer(i)
	}
	slices.SortStableFunc(shards, func(a, b int) int {
		switch {
		case rank[a] > rank[b]:
			return -1
		case rank[a] < rank[b]:
			return 1
		}
		return a - b
	})
	return shards
}

// renewed records the renewed lease version of shard i.
func (m *Manager) renewed(i int, v uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.owned[i]; h != nil {
		h.version, h.renewed = v, time.Now()
	}
}

// dropStale stops the shards whose lease was last renewed half a TTL ago:
// a member cut off from the store stops before its leases expire, and
// another member takes the shards.
func (m *Manager) dropStale() {
	limit := time.Now().Add(-m.opts.TTL / 2)
	var stale []int
	m.mu.Lock()
	for i, h := range m.owned {
		if h.renewed.Before(limit) {
			stale = append(stale, i)
		}
	}
	m.mu.Unlock()
	for _, i := range stale {
		m.log.Warn("cannot renew shard lease, giving the shard up", "shard", i)
		m.drop(context.Background(), i, false, Lost)
	}
}

// drop stops shard i's work and, when release, then deletes its lease.
func (m *Manager) drop(ctx context.Context, i int, release bool, change string) {
	m.mu.Lock()
	h := m.owned[i]
	delete(m.owned, i)
	m.mu.Unlock()
	if h == nil {
		return
	}
	if release {
		// The lease stays ours until the work stopped, however long that takes.
		m.renewing(ctx, i, &h.version, func() { m.opts.Stop(i) })
	} else {
		m.opts.Stop(i)
	}
	if release {
		octx, cancel := m.op(ctx)
		defer cancel()
		if _, err := m.opts.Store.CompareAndDelete(octx, m.Key(i), h.version); err != nil && !errors.Is(err, store.ErrConflict) {
			m.log.Warn("cannot release shard lease", "shard", i, "err", err)
		}
	}
	m.opts.OnChange(change, i)
	m.log.Info("gave up shard", "shard", i, "change", change)
}

// ReleaseAll stops the work of every shard, all at once (a shard's
// consumer takes a round trip or more to drain: one after the other, 8
// shards took a second of every stop), and releases the leases and the
// membership, so that other members take the shards at once.
func (m *Manager) ReleaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), m.opts.TTL)
	defer cancel()
	var wg sync.WaitGroup
	for _, i := range m.Owned() {
		wg.Go(func() { m.drop(ctx, i, true, Stopped) })
	}
	wg.Wait()
	if _, err := m.opts.Store.Delete(ctx, m.opts.MemberPrefix+m.opts.NodeID); err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Warn("cannot remove membership", "err", err)
	}
}
