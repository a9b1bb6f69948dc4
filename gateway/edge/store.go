package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
)

// Options configures a Store.
type Options struct {
	Key           string // default DefaultKey
	HistoryPrefix string // default DefaultHistoryPrefix
	VersionPrefix string // default DefaultVersionPrefix
	// HistoryTTL, when above 0, expires history records (and with them the
	// versions a rollback can restore); default 0 keeps every version.
	HistoryTTL time.Duration
	OpTimeout  time.Duration // default DefaultOpTimeout
	// MaxRetries bounds compare-and-swap retries under contention (default 16).
	MaxRetries int
	Now        func() time.Time
	Logger     *slog.Logger
}

// Store reads and writes the edge document. It is safe for concurrent use and
// keeps no state besides its options.
type Store struct {
	st   store.Store
	opts Options
	log  *slog.Logger
}

// ErrContention is returned when a write lost the compare-and-swap race
// MaxRetries times in a row.
var ErrContention = errors.New("too many concurrent changes to the edge config")

// New returns a Store over st.
func New(st store.Store, opts Options) *Store {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.HistoryPrefix == "" {
		opts.HistoryPrefix = DefaultHistoryPrefix
	}
	if opts.VersionPrefix == "" {
		opts.VersionPrefix = DefaultVersionPrefix
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{st: st, opts: opts, log: opts.Logger}
}

// Get returns the document and its store version; a store without one gives
// an empty document with version 0.
func (s *Store) Get(ctx context.Context) (Doc, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	e, err := s.st.Get(ctx, s.opts.Key)
	if errors.Is(err, store.ErrNotFound) {
		return Doc{}, 0, nil
	}
	if err != nil {
		return Doc{}, 0, fmt.Errorf("cannot read edge config: %w", err)
	}
	d, err := decode(e.Value)
	if err != nil {
		return Doc{}, 0, err
	}
	return d, e.Version, nil
}

func decode(b []byte) (Doc, error) {
	var d Doc
	if err := json.Unmarshal(b, &d); err != nil {
		return Doc{}, fmt.Errorf("cannot decode stored edge config: %w", err)
	}
	return d, nil
}

// Update applies fn to a copy of the current config, validates the result
// with Validate, and writes it with compare-and-swap, retrying when another
// writer got there first. fn may return an error (e.g. a not-found or a
// field error) to abort; it is returned as is. by and action are recorded.
func (s *Store) Update(ctx context.Context, by, action string, fn func(*config.Edge) error) (Doc, error) {
	return s.update(ctx, by, action, func(d *Doc) error { return fn(&d.Edge) })
}

func (s *Store) update(ctx context.Context, by, action string, fn func(*Doc) error) (Doc, error) {
	var out Doc
	err := store.Retry(ctx, store.RetryOptions{Attempts: s.opts.MaxRetries}, func(ctx context.Context) error {
		cur, ver, err := s.Get(ctx)
		if err != nil {
			return err
		}
		s.ensureRecorded(ctx, cur)
		next := clone(cur)
		if err := fn(&next); err != nil {
			return err
		}
		if err := Validate(next.Edge); err != nil {
			return err
		}
		next.Version = cur.Version + 1
		next.UpdatedBy = by
		next.UpdatedAt = s.opts.Now().UTC()
		next.Action = action
		b, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("cannot encode edge config: %w", err)
		}
		cctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
		_, err = s.st.CompareAndSwap(cctx, s.opts.Key, ver, b, store.PutOptions{})
		cancel()
		if errors.Is(err, store.ErrConflict) {
			return err
		}
		if err != nil {
			return fmt.Errorf("cannot write edge config: %w", err)
		}
		s.record(ctx, next)
		s.log.Info("edge config changed", "version", next.Version, "by", by, "action", action)
		out = next
		return nil
	})
	if errors.Is(err, store.ErrContention) {
		return Doc{}, fmt.Errorf("%w: %w", ErrContention, err)
	}
	return out, err
}

// clone deep-copies a document through JSON, so fn cannot alias the stored one.
func clone(d Doc) Doc {
	b, _ := json.Marshal(d) // plain data: cannot fail
	var out Doc
	_ = json.Unmarshal(b, &out)
	return out
}

// record writes the history entry of a version and, under VersionPrefix,
// the whole document so a rollback can restore it. A failure is logged, not
// returned: the document itself already carries the version, the next
// write fills the gap (ensureRecorded), and At and History fall back to the
// document for the newest version.
func (s *Store) record(ctx context.Context, d Doc) {
	c := Change{Version: d.Version, By: d.UpdatedBy, At: d.UpdatedAt, Action: d.Action}
	doc, _ := json.Marshal(d) // plain data: cannot fail
	rec, _ := json.Marshal(c) // plain data: cannot fail
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	po := store.PutOptions{TTL: s.opts.HistoryTTL}
	if _, err := s.st.Put(ctx, s.versionKey(d.Version), doc, po); err != nil {
		s.log.Warn("cannot keep edge config version", "version", d.Version, "err", err)
		return
	}
	if _, err := s.st.Put(ctx, s.historyKey(d.Version), rec, po); err != nil {
		s.log.Warn("cannot record edge config change", "version", d.Version, "err", err)
	}
}

func (s *Store) versionKey(version int64) string {
	return fmt.Sprintf("%s%020d", s.opts.VersionPrefix, version)
}

func (s *Store) historyKey(version int64) string {
	return fmt.Sprintf("%s%020d", s.opts.HistoryPrefix, version)
}

// History returns up to limit change records, newest first (At returns a
// version's config). The current version is listed even when its record
// could not be written.
func (s *Store) History(ctx context.Context, limit int) ([]Change, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.OpTimeout)
	defer cancel()
	var all []Change
	for e, err := range store.Entries(ctx, s.st, s.opts.HistoryPrefix, store.ScanOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list edge config history: %w", err)
		}
		var c Change
		if json.Unmarshal(e.Value, &c) == nil {
			all = append(all, c)
		}
	}
	cur, _, err := s.Get(ctx)
	if err != nil {
		return nil, err
	}
	if cur.Version > 0 && (len(all) == 0 || all[len(all)-1].Version < cur.Version) {
		all = append(all, Change{Version: cur.Version, By: cur.UpdatedBy, At: cur.UpdatedAt, Action: cur.Action})
	}
	out := make([]Change, 0, min(limit, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, all[i])
	}
	return out, nil
}
