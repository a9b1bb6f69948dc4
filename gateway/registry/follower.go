package registry

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/mirror"
)

// Snapshot is an immutable view of every registered instance.
type Snapshot struct {
	byService map[string][]Instance
}

// Instances returns a service's instances whose TTL has not run out at now,
// sorted by room and id. The slice must not be modified.
func (s *Snapshot) Instances(service string, now time.Time) []Instance {
	if s == nil {
		return nil
	}
	all := s.byService[service]
	for _, in := range all {
		if !in.ExpiresAt.After(now) {
			live := make([]Instance, 0, len(all))
			for _, x := range all {
				if x.ExpiresAt.After(now) {
					live = append(live, x)
				}
			}
			return live
		}
	}
	return all
}

// NextExpiry is the earliest ExpiresAt in the snapshot (zero when empty):
// the gateway rebuilds then, so an instance whose store expiry event is late
// still stops receiving traffic when its TTL runs out.
func (s *Snapshot) NextExpiry() time.Time {
	var next time.Time
	if s == nil {
		return next
	}
	for _, ins := range s.byService {
		for _, in := range ins {
			if next.IsZero() || in.ExpiresAt.Before(next) {
				next = in.ExpiresAt
			}
		}
	}
	return next
}

// Follower keeps a Snapshot of the registry in sync with the store.
type Follower struct {
	m      *mirror.Mirror
	prefix string
	snap   atomic.Pointer[Snapshot]
	notify atomic.Pointer[func(*Snapshot)]
	log    *slog.Logger
}

// NewFollower returns a Follower of the registry under prefix (default
// DefaultPrefix) in st; notify, when set, gets every new snapshot.
func NewFollower(st store.Store, prefix string, notify func(*Snapshot), log *slog.Logger) (*Follower, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Follower{prefix: prefix, log: log}
	if notify != nil {
		f.notify.Store(&notify)
	}
	f.snap.Store(&Snapshot{})
	m, err := mirror.New(st, mirror.Options{Prefix: prefix, OnChange: f.apply, Logger: log})
	if err != nil {
		return nil, err
	}
	f.m = m
	return f, nil
}

func (f *Follower) apply(entries map[string][]byte) {
	s := &Snapshot{byService: map[string][]Instance{}}
	for k, v := range entries {
		var in Instance
		if err := json.Unmarshal(v, &in); err != nil {
			f.log.Warn("skipping registry entry that does not decode", "key", k, "err", err)
			continue
		}
		// The key is the truth: a value written by hand under another
		// service's key cannot move traffic there.
		svc, id, ok := strings.Cut(strings.TrimPrefix(k, f.prefix), "/")
		if !ok || svc != in.Service || id != in.ID {
			f.log.Warn("skipping registry entry whose key does not match it", "key", k)
			continue
		}
		s.byService[svc] = append(s.byService[svc], in)
	}
	for _, ins := range s.byService {
		sortInstances(ins)
	}
	f.snap.Store(s)
	if fn := f.notify.Load(); fn != nil {
		(*fn)(s)
	}
}

// Notify makes fn get every new snapshot from now on, in place of the
// function given to NewFollower (nil: none).
func (f *Follower) Notify(fn func(*Snapshot)) {
	if fn == nil {
		f.notify.Store(nil)
		return
	}
	f.notify.Store(&fn)
}

// Snapshot returns the current snapshot.
func (f *Follower) Snapshot() *Snapshot { return f.snap.Load() }

// Ready is closed once the registry has been read once.
func (f *Follower) Ready() <-chan struct{} { return f.m.Ready() }

// Run follows the registry until ctx ends.
func (f *Follower) Run(ctx context.Context) error { return f.m.Run(ctx) }
