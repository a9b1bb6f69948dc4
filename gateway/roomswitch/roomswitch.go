// Package roomswitch keeps room switches in the store: the switch of each
// service (running, paused, or the last one that ended) under
// <Prefix><service>, and every switch ever started under
// <HistoryPrefix><service>/<start>-<id> for `wharf room history`.
//
// Any gateway node may start, pause, resume or abort a switch, and every
// node calls Tick each second to take the steps that are due: each change is
// a compare-and-swap on the record's store version, so exactly one node
// takes each step however many try. The nodes follow the records through a
// store watch and apply the weights in effect (Effective) within a watch
// delay of each step.
//
// When a switch finishes, OnDone writes its final weights into the
// service's room policy (the edge document) before the record says "done",
// so at every moment either the running switch or the policy holds the
// weights in effect.
package roomswitch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/internal/store"
)

// Defaults.
const (
	DefaultPrefix        = "gateway/rooms/switch/"
	DefaultHistoryPrefix = "gateway/rooms/history/"
	DefaultHistoryTTL    = 180 * 24 * time.Hour
	DefaultOpTimeout     = 5 * time.Second
	maxRetries           = 16
)

// Errors the API maps to status codes.
var (
	// ErrNoSwitch: the service has never had a switch (404).
	ErrNoSwitch = errors.New("no room switch")
	// ErrActive: a switch is already running or paused (409).
	ErrActive = errors.New("a room switch is already in progress")
	// ErrContention: too many concurrent writers (503).
	ErrContention = errors.New("too many concurrent changes to the room switch")
)

// Options configures a Store.
type Options struct {
	Prefix        string
	HistoryPrefix string
	HistoryTTL    time.Duration
	OpTimeout     time.Duration
	// OnDone is called when a switch reaches its last step, before the
	// record is written as done; it makes the final weights the service's
	// policy. Nodes racing for the last step may each call it, so it must
	// be idempotent. An error leaves the switch at its previous step, to
	// be retried on the next Tick.
	OnDone func(ctx context.Context, rec rooms.Record) error
	Now    func() time.Time
	Logger *slog.Logger
}

// Store reads and writes switch records. It keeps no state of its own and
// is safe for concurrent use.
type Store struct {
	st   store.Store
	opts Options
	log  *slog.Logger
}

// New returns a Store over st.
func New(st store.Store, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.HistoryPrefix == "" {
		opts.HistoryPrefix = DefaultHistoryPrefix
	}
	if opts.HistoryTTL <= 0 {
		opts.HistoryTTL = DefaultHistoryTTL
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{st: st, opts: opts, log: opts.Logger.With("component", "roomswitch")}
}

// Prefix is the key prefix of the current records (one per service), for
// a watch.
func (s *Store) Prefix() string { return s.opts.Prefix }

// ServiceOf is the service a current-record key names, or "".
func (s *Store) ServiceOf(key string) string {
	svc, ok := strings.CutPrefix(key, s.opts.Prefix)
	if !ok || strings.Contains(svc, "/") {
		return ""
	}
	return svc
}

// Decode parses a stored record.
func Decode(b []byte) (rooms.Record, error) {
	var r rooms.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return rooms.Record{}, fmt.Errorf("cannot decode room switch: %w", err)
	}
	return r, nil
}

// Effective is the weights in effect for a service whose room policy has
// weights policy, last changed at policyAt, and whose current switch
// record is rec (nil: none): a running or paused switch's; an ended
// switch's final weights (To, or From after an abort) while the policy is
// older than the switch's end — a node can see the "done" record before
// the policy change OnDone wrote just before it, and must not fall back to
// the old weights meanwhile; otherwise the policy's.
func Effective(policy map[string]int, policyAt time.Time, rec *rooms.Record) map[string]int {
	if rec != nil && (rec.Active() || !rec.EndedAt.IsZero() && policyAt.Before(rec.EndedAt)) {
		return rec.Weights()
	}
	return maps.Clone(policy)
}

// Get returns the service's current (or last) switch and its store
// version; ErrNoSwitch if it never had one.
func (s *Store) Get(ctx context.Context, svc string) (rooms.Record, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	e, err := s.st.Get(ctx, s.opts.Prefix+svc)
	if errors.Is(err, store.ErrNotFound) {
		return rooms.Record{}, 0, fmt.Errorf("service %s: %w", svc, ErrNoSwitch)
	}
	if err != nil {
		return rooms.Record{}, 0, fmt.Errorf("cannot read room switch of %s: %w", svc, err)
	}
	r, err := Decode(e.Value)
	return r, e.Version, err
}

// Start begins the switch spec asks for and takes its first step at once
// (an immediate switch is done when Start returns). spec.From must be the
// weights in effect; ErrActive if the service has a switch running or
// paused. spec.ID is assigned when empty.
func (s *Store) Start(ctx context.Context, spec rooms.SwitchSpec) (rooms.Record, error) {
	now := s.opts.Now().UTC()
	if spec.ID == "" {
		spec.ID = fmt.Sprintf("%s-%d", spec.Service, now.UnixNano())
	}
	cur, ver, err := s.Get(ctx, spec.Service)
	switch {
	case errors.Is(err, ErrNoSwitch):
	case err != nil:
		return rooms.Record{}, err
	case cur.Active():
		return rooms.Record{}, fmt.Errorf("service %s: switch %s is %s: %w", spec.Service, cur.ID, cur.State, ErrActive)
	}
	sw, err := rooms.NewSwitch(spec, now)
	if err != nil {
		return rooms.Record{}, err
	}
	sw.Advance(now)
	rec := sw.Record()
	if rec.State == rooms.SwitchDone {
		if err := s.done(ctx, rec); err != nil {
			return rooms.Record{}, err
		}
	}
	if err := s.write(ctx, rec, ver); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return rooms.Record{}, fmt.Errorf("service %s: another switch started at the same time: %w", spec.Service, ErrActive)
		}
		return rooms.Record{}, err
	}
	s.log.Info("room switch started", "service", rec.Service, "id", rec.ID, "who", rec.Who, "why", rec.Why,
		"from", rec.From, "to", rec.To, "steps", len(rec.Steps), "state", rec.State)
	return rec, nil
}

// Action names accepted by Act.
const (
	ActPause  = "pause"
	ActResume = "resume"
	ActAbort  = "abort"
)

// Act pauses, resumes or aborts the service's switch; errors wrap
// rooms.ErrWrongState when the switch is not in a state that allows it.
func (s *Store) Act(ctx context.Context, svc, action, who, why string) (rooms.Record, error) {
	return s.update(ctx, svc, func(sw *rooms.Switch, now time.Time) (bool, error) {
		var err error
		switch action {
		case ActPause:
			err = sw.Pause(now, who, why)
		case ActResume:
			err = sw.Resume(now, who, why)
		case ActAbort:
			err = sw.Abort(now, who, why)
		default:
			return false, fmt.Errorf("cannot %s a switch: unknown action", action)
		}
		return err == nil, err
	})
}

// Tick takes the due step of every running switch among recs (the records
// a node follows, by service), re-reading each from the store first. It
// returns the records it changed.
func (s *Store) Tick(ctx context.Context, recs map[string]rooms.Record) []rooms.Record {
	now := s.opts.Now()
	var changed []rooms.Record
	for _, svc := range slices.Sorted(maps.Keys(recs)) {
		r := recs[svc]
		if r.State != rooms.SwitchRunning || now.Before(r.NextAt) {
			continue
		}
		rec, err := s.update(ctx, svc, func(sw *rooms.Switch, now time.Time) (bool, error) {
			_, stepped := sw.Advance(now)
			return stepped, nil
		})
		if err != nil {
			s.log.Warn("cannot advance room switch", "service", svc, "id", r.ID, "err", err)
			continue
		}
		if rec.ID != "" {
			changed = append(changed, rec)
		}
	}
	return changed
}

// update applies fn to the service's switch with compare-and-swap,
// retrying on conflicts; fn reports whether it changed anything. The
// returned record is zero when nothing changed.
func (s *Store) update(ctx context.Context, svc string, fn func(sw *rooms.Switch, now time.Time) (bool, error)) (rooms.Record, error) {
	var out rooms.Record
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxRetries}, func(ctx context.Context) error {
		cur, ver, err := s.Get(ctx, svc)
		if err != nil {
			return err
		}
		sw, err := rooms.Restore(cur)
		if err != nil {
			return err
		}
		sw.Advance(time.Time{}) // consume Restore's change report without stepping
		now := s.opts.Now().UTC()
		changed, err := fn(sw, now)
		if err != nil {
			return err
		}
		if !changed {
			return nil
		}
		rec := sw.Record()
		if rec.State == rooms.SwitchDone && cur.State != rooms.SwitchDone {
			if err := s.done(ctx, rec); err != nil {
				return err
			}
		}
		if err := s.write(ctx, rec, ver); err != nil {
			return err // a conflict is retried
		}
		last := rec.Actions[len(rec.Actions)-1]
		s.log.Info("room switch changed", "service", svc, "id", rec.ID, "state", rec.State,
			"step", rec.Current+1, "of", len(rec.Steps), "weights", rec.Weights(), "last_action", last.What, "by", last.Who)
		out = rec
		return nil
	})
	if errors.Is(err, store.ErrContention) {
		return rooms.Record{}, fmt.Errorf("%w: %w", ErrContention, err)
	}
	return out, err
}

// done runs OnDone for a switch that just finished.
func (s *Store) done(ctx context.Context, rec rooms.Record) error {
	if s.opts.OnDone == nil {
		return nil
	}
	if err := s.opts.OnDone(ctx, rec); err != nil {
		return fmt.Errorf("cannot make the final weights of switch %s the policy of %s: %w", rec.ID, rec.Service, err)
	}
	return nil
}

// write stores rec as the service's current switch if its version is still
// ver (0: none yet), and as its history entry.
func (s *Store) write(ctx context.Context, rec rooms.Record, ver uint64) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("cannot encode room switch: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	if _, err := s.st.CompareAndSwap(cctx, s.opts.Prefix+rec.Service, ver, b, store.PutOptions{}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return err
		}
		return fmt.Errorf("cannot write room switch of %s: %w", rec.Service, err)
	}
	if _, err := s.st.Put(cctx, s.historyKey(rec), b, store.PutOptions{TTL: s.opts.HistoryTTL}); err != nil {
		s.log.Warn("cannot record room switch history", "service", rec.Service, "id", rec.ID, "err", err)
	}
	return nil
}

func (s *Store) historyKey(rec rooms.Record) string {
	return fmt.Sprintf("%s%s/%020d-%s", s.opts.HistoryPrefix, rec.Service, rec.StartedAt.UnixNano(), rec.ID)
}

// History returns up to limit switches of the service, newest first.
func (s *Store) History(ctx context.Context, svc string, limit int) ([]rooms.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	var all []rooms.Record
	for e, err := range store.Entries(ctx, s.st, s.opts.HistoryPrefix+svc+"/", store.ScanOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list room switch history of %s: %w", svc, err)
		}
		if r, err := Decode(e.Value); err == nil {
			all = append(all, r)
		}
	}
	slices.Reverse(all)
	if limit > 0 && len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
