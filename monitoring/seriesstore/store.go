package seriesstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// Options configures a Store.
type Options struct {
	// Dir holds the store: series/, wal/ and a LOCK file. One store (one
	// shard) per directory; a second Open of the same directory fails.
	Dir string
	// Spec makes the spec of a new series from its first point's step and
	// counter type. Default: rrd.FalconSpec.
	Spec func(step int64, counterType string) (rrd.Spec, error)
	// CreateLead: a new series is created at its first point's time minus
	// this, as Falcon's graph creates files at now-24h (so the first point
	// of a GAUGE is beyond the heartbeat and unknown). Default 24h.
	CreateLead time.Duration
	// MaxSeries bounds the series of the store (0: no bound): a point that
	// would create one more is refused and counted in Result.OverLimit,
	// so a pusher inventing endpoints or tags cannot fill the disk (a
	// Falcon-layout series takes about 70 KiB).
	MaxSeries int
	// MaxOpen bounds the series files kept open (and their headers in
	// memory). Default 1024.
	MaxOpen int
	// CheckpointEvery is how often Run makes the series files durable and
	// starts a new write-ahead log segment. Default 1 minute.
	CheckpointEvery time.Duration
	// MaxWALBytes starts a checkpoint after an update once the current
	// write-ahead log segment is this large. Default 64 MiB.
	MaxWALBytes int64
	// Logger gets recovery and checkpoint events. Default slog.Default().
	Logger *slog.Logger
}

// Point is one value for one series.
type Point struct {
	// Key identifies the series (Falcon's PK: endpoint/metric/k=v,...).
	Key string
	// Step and CounterType ("GAUGE", "COUNTER", "DERIVE") shape a new
	// series; a later point must agree (same step, GAUGE or not).
	Step        int64
	CounterType string
	Time        int64
	Value       float64
}

// Result counts what happened to the points of one Update.
type Result struct {
	// Accepted points changed their series.
	Accepted int
	// Stale points were not newer than their series' last update.
	Stale int
	// Skipped points had values Falcon skips (NaN, beyond ±1e300, within ±1e-300).
	Skipped int
	// Rejected points had a bad key, step or counter type, or disagreed
	// with their series' step or type; they were not logged.
	Rejected int
	// OverLimit points would have created a series past Options.MaxSeries.
	OverLimit int
}

// Errors of the store.
var (
	// ErrNotFound: no series has the key.
	ErrNotFound = errors.New("series not found")
	// ErrClosed: the store was closed, or failed and must be reopened.
	ErrClosed = errors.New("series store closed")
)

// indexEntry is what the store keeps in memory per series.
type indexEntry struct {
	step int64
	typ  rrd.DSType // as pushed first
}

// Store keeps round-robin series on disk (see the package doc for the
// layout and the crash guarantees). Its methods are safe for concurrent use.
type Store struct {
	opts      Options
	seriesDir string
	walDir    string
	log       *slog.Logger
	lock      *os.File

	mu      sync.Mutex
	closed  error
	index   map[string]indexEntry
	sorted  []string // index keys, sorted; nil when stale
	open    *openFiles
	w       *wal
	touched map[string]bool // series logged since the last checkpoint
	batch   map[string]*header
	hbuf    []byte
	evicted []*seriesFile
}

// Open opens (or creates) the store in opts.Dir and recovers it: the
// write-ahead log since the last checkpoint is replayed onto the series
// files, then a checkpoint makes the result durable.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("cannot open series store: no directory")
	}
	if opts.Spec == nil {
		opts.Spec = rrd.FalconSpec
	}
	if opts.CreateLead == 0 {
		opts.CreateLead = 24 * time.Hour
	}
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 1024
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = time.Minute
	}
	if opts.MaxWALBytes <= 0 {
		opts.MaxWALBytes = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		opts:      opts,
		seriesDir: filepath.Join(opts.Dir, "series"),
		walDir:    filepath.Join(opts.Dir, "wal"),
		log:       opts.Logger.With("component", "seriesstore"),
		index:     make(map[string]indexEntry),
		open:      newOpenFiles(opts.MaxOpen),
		touched:   make(map[string]bool),
		batch:     make(map[string]*header),
		hbuf:      make([]byte, headerSize),
	}
	for _, d := range []string{s.seriesDir, s.walDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cannot open series store: %w", err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(opts.Dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open series store lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("cannot lock series store %s (another process has it?): %w", opts.Dir, err)
	}
	s.lock = lock
	if err := s.recover(); err != nil {
		s.closeFiles()
		_ = lock.Close()
		return nil, err
	}
	return s, nil
}

// Run checkpoints every CheckpointEvery until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Checkpoint(); err != nil {
				s.log.Error("checkpoint failed", "err", err)
				if errors.Is(err, ErrClosed) {
					return err
				}
			}
		}
	}
}

// Update logs the points durably (one fsync), then applies them in order.
// When it returns nil every counted point survives a crash. An error means
// the store failed (I/O) and must be reopened, which recovers it.
func (s *Store) Update(points []Point) (Result, error) {
	var res Result
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return res, s.closed
	}
	ok := make([]bool, len(points))
	for i := range points {
		p := &points[i]
		if err := s.logPoint(p); err != nil {
			if errors.Is(err, errRejected) {
				res.Rejected++
				continue
			}
			if errors.Is(err, errOverLimit) {
				res.OverLimit++
				continue
			}
			return res, s.fail(err)
		}
		ok[i] = true
	}
	if err := s.w.commit(); err != nil {
		return res, s.fail(err)
	}
	for i := range points {
		if !ok[i] {
			continue
		}
		p := &points[i]
		err := s.apply(p.Key, p.Time, p.Value)
		switch {
		case err == nil:
			res.Accepted++
		case errors.Is(err, rrd.ErrStale):
			res.Stale++
		case errors.Is(err, rrd.ErrSkipped):
			res.Skipped++
		default:
			return res, s.fail(err)
		}
	}
	clear(s.batch)
	if s.w.size >= s.opts.MaxWALBytes {
		if err := s.checkpointLocked(); err != nil {
			return res, s.fail(err)
		}
	}
	return res, nil
}

var (
	errRejected  = errors.New("point rejected")
	errOverLimit = errors.New("the store holds its most series")
)

// logPoint checks p and queues its log records: the series' base image
// first when the series is new or not logged since the last checkpoint.
func (s *Store) logPoint(p *Point) error {
	if p.Key == "" || len(p.Key) > MaxKeyLen || p.Time < 0 || p.Time > rrd.MaxTime {
		return errRejected
	}
	typ, err := rrd.ParseDSType(p.CounterType)
	if err != nil || p.Step < 1 {
		return errRejected
	}
	if _, ok := s.index[p.Key]; ok && !s.touched[p.Key] {
		sf, err := s.file(p.Key)
		switch {
		case err == nil:
			s.w.addBase(&sf.h, false)
			s.touched[p.Key] = true
		case errors.Is(err, errCorrupt) || errors.Is(err, fs.ErrNotExist):
			s.quarantine(p.Key, err) // the point starts the series anew below
		default:
			return err
		}
	}
	if e, ok := s.index[p.Key]; ok {
		if e.step != p.Step || (e.typ == rrd.Gauge) != (typ == rrd.Gauge) {
			return errRejected
		}
	} else if h := s.batch[p.Key]; h != nil {
		if h.Spec.Step != p.Step || (h.Spec.Type == rrd.Gauge) != (typ == rrd.Gauge) {
			return errRejected
		}
	} else {
		if s.opts.MaxSeries > 0 && len(s.index)+len(s.batch) >= s.opts.MaxSeries {
			return errOverLimit
		}
		spec, err := s.opts.Spec(p.Step, p.CounterType)
		if err != nil || spec.Validate() != nil {
			return errRejected
		}
		start := max(0, p.Time-int64(s.opts.CreateLead/time.Second))
		h := &header{Key: p.Key, CounterType: typ, Spec: spec, State: rrd.NewState(&spec, start)}
		if err := encodeHeader(s.hbuf, h); err != nil {
			return errRejected
		}
		s.batch[p.Key] = h
		s.w.addBase(h, true)
		s.touched[p.Key] = true
	}
	s.w.addPoint(p.Key, p.Time, p.Value)
	return nil
}

// apply updates one series whose point is already logged.
func (s *Store) apply(key string, t int64, v float64) error {
	sf, err := s.file(key)
	if err != nil {
		return err
	}
	err = rrd.Update(&sf.h.Spec, &sf.h.State, sf, t, v)
	if err == nil {
		sf.dirty = true
	}
	return err
}

// file returns the open series of key, creating the file of a series
// logged as new in this batch.
func (s *Store) file(key string) (*seriesFile, error) {
	if sf := s.open.get(key); sf != nil {
		return sf, nil
	}
	var sf *seriesFile
	var err error
	if h := s.batch[key]; h != nil {
		sf, err = createSeriesFile(seriesPath(s.seriesDir, key), *h)
		delete(s.batch, key)
		if err == nil {
			s.addIndex(h)
		}
	} else if _, ok := s.index[key]; ok {
		sf, err = openSeriesFile(seriesPath(s.seriesDir, key))
		if err == nil && sf.key != key {
			_ = sf.close()
			err = fmt.Errorf("cannot open series %q: file holds %q: %w", key, sf.key, errCorrupt)
		}
	} else {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return sf, s.keepOpen(sf)
}

// quarantine drops a series whose file went missing or rotted while the
// store ran: the file is moved aside (never overwritten) and the key
// forgotten, so the next point starts the series anew.
func (s *Store) quarantine(key string, cause error) {
	path := seriesPath(s.seriesDir, key)
	aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
	if err := os.Rename(path, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Error("cannot move corrupt series file aside", "series", key, "err", err)
	}
	s.log.Error("series file is corrupt or missing; moved aside, the series starts anew", "series", key, "moved_to", aside, "err", cause)
	delete(s.index, key)
	s.sorted = nil
}

func (s *Store) keepOpen(sf *seriesFile) error {
	s.evicted = s.open.add(sf, s.evicted[:0])
	var first error
	for _, old := range s.evicted {
		if err := s.closeFile(old); err != nil && first == nil {
			first = err
		}
	}
	clear(s.evicted)
	return first
}

func (s *Store) closeFile(sf *seriesFile) error {
	var err error
	if sf.dirty {
		err = sf.writeHeader()
	}
	if cerr := sf.close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

func (s *Store) addIndex(h *header) {
	if _, ok := s.index[h.Key]; !ok {
		s.sorted = nil
	}
	s.index[h.Key] = indexEntry{step: h.Spec.Step, typ: h.CounterType}
}

// flushHeaders writes back the headers changed since the last flush. Only
// checkpoints need them on disk (until then the log rebuilds them), so
// updates leave them dirty in memory.
func (s *Store) flushHeaders() error {
	for _, sf := range s.open.all() {
		if sf.dirty {
			if err := sf.writeHeader(); err != nil {
				return err
			}
		}
	}
	return nil
}

// fail marks the store failed: its in-memory state may be ahead of or
// behind the files, and only a reopen (which replays the log) repairs it.
func (s *Store) fail(err error) error {
	s.closed = fmt.Errorf("%w: %w (reopen the store to recover)", ErrClosed, err)
	s.closeFiles()
	return s.closed
}

// closeFiles closes every open file without writing anything.
func (s *Store) closeFiles() {
	for _, sf := range s.open.all() {
		s.open.remove(sf.key)
		_ = sf.close()
	}
	if s.w != nil && s.w.f != nil {
		_ = s.w.f.Close()
	}
}

// Close checkpoints and closes the store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		if errors.Is(s.closed, ErrClosed) && s.lock == nil {
			return nil
		}
	}
	var err error
	if s.closed == nil {
		err = s.checkpointLocked()
	}
	s.closeFiles()
	s.closed = ErrClosed
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
	return err
}
