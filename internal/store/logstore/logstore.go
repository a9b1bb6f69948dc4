// Package logstore is a store.Store engine for one process's high-rate
// private state (the judge's states in `wharf serve`): every key and value
// lives in a hash map in memory, and every change is appended to one log
// file, fsynced once per SyncInterval like buntdb's default. A write is a
// map update and an append, with no B-tree and no change log: a
// compare-and-swap of a few hundred bytes costs well under a microsecond
// (BenchmarkCompareAndSwapMany), where buntdb walks its tree twice.
//
// What it does not do: watches and TTLs (Watch and a Put with a TTL fail
// with ErrUnsupported), sharing the file with another process (Open takes
// an exclusive lock on it). List keeps the keys sorted as of the last
// List and merges in those created since, so it suits rare scans over
// keys that are mostly updated in place.
//
// The log is rewritten with only the live entries (compaction) when it has
// grown past CompactMinBytes and four times the live data. Open replays
// the log; a torn or corrupt tail (a crash in the middle of an append) is
// cut off and reported in the log, and a bad record with whole ones after
// it (bit rot) is skipped and reported as an error. A failed fsync makes
// the store refuse writes until it is reopened.
package logstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// ErrUnsupported is returned by Watch and by a write with a TTL: the log
// store keeps no change log and no expiry index.
var ErrUnsupported = errors.New("the log store has no watches and no TTLs")

// Defaults of Options.
const (
	DefaultSyncInterval    = time.Second
	DefaultCompactMinBytes = 256 << 20
)

// Options configures Open.
type Options struct {
	// Path is the log file, created when missing.
	Path string
	// SyncInterval is how often written changes are fsynced
	// (DefaultSyncInterval when zero; negative: after every write, before
	// it returns).
	SyncInterval time.Duration
	// CompactMinBytes: the log is compacted once it is larger than this
	// and four times the live data (DefaultCompactMinBytes when zero).
	CompactMinBytes int64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// item is one key: its value and version, the key, and the store whose
// map holds it (nil once removed from the map): an item handed out as a
// store.SwapResult.Ref finds its key again only while it is live.
type item struct {
	val   []byte
	ver   uint64
	key   string
	owner *Store
}

// find returns the live item of key: ref's when ref is a live item of
// key in s (no lookup), else the map's (nil: no such key).
func (s *Store) find(key string, ref any) *item {
	if it, ok := ref.(*item); ok && it.owner == s && it.key == key {
		return it
	}
	return s.m[key]
}

// hasRef reports whether ref is a live item of key in s (so key was
// checked when it was created).
func (s *Store) hasRef(key string, ref any) bool {
	it, ok := ref.(*item)
	return ok && it.owner == s && it.key == key
}

// Store is an open log store. It is safe for concurrent use.
type Store struct {
	opts Options
	log  *slog.Logger

	mu   sync.RWMutex
	m    map[string]*item
	rev  uint64
	f    *os.File
	size int64 // bytes of the log written (and kept)
	live int64 // bytes the live entries take as records
	buf  []byte
	// undoBuf holds the old values of the keys a write overwrites in
	// place, until the write is committed (see tx.swap).
	undoBuf []byte
	undos   []undo // the undo list of the last write, for the next one
	closed  bool
	unsync  bool // written since the last fsync
	failed  error
	// sorted is the keys in ascending order as of the last List, and added
	// the keys created since (List merges them in); sortedOK is false
	// after a removal or an undo (List sorts every key again).
	sorted   []string
	added    []string
	sortedOK bool
	// nextCompact: no compaction is tried before the log reaches it (set
	// after one failed, so a full disk does not rewrite the live data on
	// every commit).
	nextCompact int64

	stop chan struct{}
	done chan struct{}
}

// Open opens (or creates) the log store at opts.Path and replays it.
func Open(opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("cannot open the log store: no path")
	}
	if opts.SyncInterval == 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.CompactMinBytes <= 0 {
		opts.CompactMinBytes = DefaultCompactMinBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot open the log store %s: %w", opts.Path, err)
	}
	f, err := os.OpenFile(opts.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the log store %s: %w", opts.Path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot open the log store %s: it is in use by another process: %w", opts.Path, err)
	}
	// A compaction that a crash interrupted left its copy behind; the log
	// it was made from is whole. (Only once the lock is ours: another
	// process's compaction in progress is not ours to remove.)
	_ = os.Remove(opts.Path + ".compact")
	s := &Store{opts: opts, log: opts.Logger, m: map[string]*item{}, f: f, stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.replay(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cannot open the log store %s: %w", opts.Path, err)
	}
	if opts.SyncInterval > 0 {
		go s.syncLoop()
	} else {
		close(s.done)
	}
	return s, nil
}

// syncLoop fsyncs the log every SyncInterval when something was written.
func (s *Store) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.sync(); err != nil {
				s.log.Warn("cannot sync the log store", "path", s.opts.Path, "err", err)
			}
		}
	}
}

// sync fsyncs the log when it was written since the last fsync. The lock
// is not held during the fsync: appends go on meanwhile, and a compaction
// that replaces the file syncs the new one itself.
func (s *Store) sync() error {
	s.mu.Lock()
	if s.closed || !s.unsync {
		s.mu.Unlock()
		return nil
	}
	f := s.f
	s.unsync = false
	s.mu.Unlock()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrClosed) {
		// After a failed fsync the kernel may have dropped the pages it
		// could not write: a retry would "succeed" over lost data. The
		// store refuses writes from now on (Ping says so); a reopen
		// replays what the file really holds.
		s.mu.Lock()
		if s.failed == nil {
			s.failed = fmt.Errorf("the log store %s cannot be synced: %w", s.opts.Path, err)
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// Close fsyncs and closes the log; later calls fail with store.ErrClosed.
// A second Close is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot close the log store %s: %w", s.opts.Path, err)
	}
	return nil
}

// check reports a closed store or an ended ctx.
func (s *Store) check(ctx context.Context) error {
	if s.closed {
		return store.ErrClosed
	}
	return ctx.Err()
}

// checkWrite is check, and a log that cannot be written any more.
func (s *Store) checkWrite(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return s.failed
}

// Ping reports a closed store or a log that cannot be written.
func (s *Store) Ping(ctx context.Context) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.checkWrite(ctx)
}

// Revision returns the revision of the last change.
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	return s.rev, nil
}

// Watch fails with ErrUnsupported: the log store keeps no change log.
func (s *Store) Watch(_ context.Context, prefix string, _ uint64) (<-chan store.Event, error) {
	return nil, fmt.Errorf("cannot watch %q: %w", prefix, ErrUnsupported)
}
