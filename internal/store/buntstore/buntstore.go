// Package buntstore is Wharf's embedded store engine on buntdb: a single-node
// key-value store, persisted to one append-only file (or kept in memory), that
// implements store.Store.
//
// User keys, the change log and metadata live in separate key namespaces
// ("k:<key>", "l:<20-digit revision>", "m:..."). Every mutation bumps the
// revision and appends its change-log entry in the same buntdb transaction, so
// Watch can replay the log from any retained revision without a gap.
package buntstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/wharfhq/wharf/internal/store"
)

// Defaults for Options.
const (
	DefaultLogRetention  = 100000
	DefaultSweepInterval = 100 * time.Millisecond
	// expiryGrace delays buntdb's own expiry behind the stored one, so the
	// sweeper (which only sees items buntdb still considers alive) handles
	// expiry first; buntdb's background expiry remains as a backstop.
	expiryGrace = 2 * time.Second
	sweepBatch  = 1000
)

// Options configures Open.
type Options struct {
	// Path is the database file; ":memory:" keeps everything in memory. Required.
	Path string
	// LogRetention is how many change-log entries are kept at least
	// (default DefaultLogRetention). Watching from an older revision yields ErrCompacted.
	LogRetention int
	// LogRetentionAge, when positive, also keeps every change-log entry younger
	// than this, even beyond LogRetention. An entry is dropped only when it is
	// both beyond LogRetention and older than LogRetentionAge.
	LogRetentionAge time.Duration
	// SweepInterval is how often expired keys are looked for (default DefaultSweepInterval).
	SweepInterval time.Duration
	// SyncAlways fsyncs every commit; by default buntdb fsyncs once a second.
	SyncAlways bool
	// Logger receives background errors; nil discards them.
	Logger *slog.Logger
}

// Store is the buntdb engine of store.Store. It is safe for concurrent use.
type Store struct {
	db     *buntdb.DB
	opts   Options
	log    *slog.Logger
	notify *notifier

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Open opens (or creates) the database at opts.Path and starts the expiry sweeper.
func Open(opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New(`cannot open buntdb store: empty Path (use ":memory:" for an in-memory store)`)
	}
	if opts.LogRetention <= 0 {
		opts.LogRetention = DefaultLogRetention
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := buntdb.Open(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("cannot open buntdb store at %s: %w", opts.Path, err)
	}
	s := &Store{
		db:     db,
		opts:   opts,
		log:    logger.With("component", "store", "engine", "buntdb"),
		notify: newNotifier(),
		done:   make(chan struct{}),
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot read buntdb config: %w", err)
	}
	cfg.OnExpired = nil
	cfg.OnExpiredSync = s.onExpiredSync
	if opts.SyncAlways {
		cfg.SyncPolicy = buntdb.Always
	}
	if err := db.SetConfig(cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot configure buntdb: %w", err)
	}
	if err := db.CreateIndex(expIndex, keyNS+"*", lessExpiry); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot create expiry index: %w", err)
	}
	s.wg.Add(1)
	go s.sweepLoop()
	return s, nil
}

// Close stops the sweeper and closes the database; open watches end with ErrClosed.
// Calling Close again is a no-op.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("cannot close buntdb store: %w", cerr)
		}
		s.notify.broadcast()
	})
	return err
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// Revision returns the current store revision.
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var rev uint64
	err := s.view(func(tx *buntdb.Tx) error {
		var err error
		rev, err = metaUint(tx, metaRev)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("cannot read revision: %w", err)
	}
	return rev, nil
}

func (s *Store) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Store) check(ctx context.Context) error {
	if s.closed() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// view runs a read-only transaction, mapping a closed database to store.ErrClosed.
func (s *Store) view(fn func(tx *buntdb.Tx) error) error {
	return mapClosed(s.db.View(fn))
}

// update runs a read-write transaction and wakes the watchers after it commits.
func (s *Store) update(fn func(tx *buntdb.Tx) error) error {
	err := mapClosed(s.db.Update(fn))
	if err == nil {
		s.notify.broadcast()
	}
	return err
}

func mapClosed(err error) error {
	if errors.Is(err, buntdb.ErrDatabaseClosed) || errors.Is(err, buntdb.ErrTxClosed) {
		return store.ErrClosed
	}
	return err
}

// metaUint reads a numeric metadata key; a missing key reads as zero.
func metaUint(tx *buntdb.Tx, key string) (uint64, error) {
	v, err := tx.Get(key, true)
	if errors.Is(err, buntdb.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot parse %s: %w", key, err)
	}
	return n, nil
}

func setMetaUint(tx *buntdb.Tx, key string, v uint64) error {
	_, _, err := tx.Set(key, strconv.FormatUint(v, 10), nil)
	return err
}

func nowMs() uint64 { return uint64(time.Now().UnixMilli()) }

func msTime(ms uint64) time.Time { return time.UnixMilli(int64(ms)) }

// notifier is a broadcast signal: wait returns a channel closed by the next broadcast.
type notifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func newNotifier() *notifier { return &notifier{ch: make(chan struct{})} }

func (n *notifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ch
}

func (n *notifier) broadcast() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.ch)
	n.ch = make(chan struct{})
}
