package seriesstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// DefaultMaxDeferredPoints is Options.MaxDeferredPoints' default.
const DefaultMaxDeferredPoints = 2_000_000

// Options configures a Store.
type Options struct {
	// Dir holds the store: slots/, wal/ and a LOCK file. One store (one
	// shard) per directory; a second Open of the same directory fails. A
	// directory of the old layout (series/) is migrated at Open.
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
	// Falcon-layout series takes a 72 KiB slot).
	MaxSeries int
	// MaxOpen is ignored: every segment file stays mapped for the life of
	// the store, and no header is kept decoded. Kept for compatibility.
	MaxOpen int
	// SegmentBytes is the size of a segment file (whole slots, at least
	// one). Default 64 MiB: 910 slots of Falcon's layout. Existing
	// segments keep their size.
	SegmentBytes int64
	// CheckpointEvery is how often Run makes the segment files durable and
	// starts a new write-ahead log segment. Default 1 minute.
	CheckpointEvery time.Duration
	// CheckpointPhase puts Run's first checkpoint this fraction of
	// CheckpointEvery after it starts (0, or outside (0, 1): a whole
	// interval). Stores opened together (the shards of a node) given
	// different phases apply their waiting points at different moments
	// instead of stalling every writer at once.
	CheckpointPhase float64
	// MaxWALBytes starts a checkpoint after an update once the current
	// write-ahead log segment is this large. Default 64 MiB.
	MaxWALBytes int64
	// MaxDeferredPoints (DefaultMaxDeferredPoints when 0) bounds the logged points kept in memory before
	// they are applied to their slots (see deferred.go): they are applied
	// all at once when there are this many, at every checkpoint, and per
	// series before it is read. Default 2,000,000 (about 40 MB); negative
	// applies every point at once, in its Update.
	MaxDeferredPoints int
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
	// NoSpace points would have created a series the file system had no
	// room for (ENOSPC or EDQUOT growing its segment); they were not
	// logged, and the store goes on with the series it has.
	NoSpace int
}

// Errors of the store.
var (
	// ErrNotFound: no series has the key.
	ErrNotFound = errors.New("series not found")
	// ErrClosed: the store was closed, or failed and must be reopened.
	ErrClosed = errors.New("series store closed")
)

// Store keeps round-robin series on disk (see the package doc for the
// layout and the crash guarantees). Its methods are safe for concurrent use.
type Store struct {
	opts Options
	// fsyncFile fsyncs the log segments (nil: File.Sync; tests inject
	// failures with SetFsync).
	fsyncFile func(*os.File) error
	slotsDir  string
	walDir    string
	log       *slog.Logger
	lock      *os.File

	ckpt sync.Mutex // one checkpoint at a time; taken before mu
	// ckptWaiting counts the checkpoints and Closes waiting for ckpt
	// (lockCkpt, pass.go).
	ckptWaiting atomic.Int32
	mu          sync.Mutex
	closed      error
	index       map[string]*series // index.go
	// byHash indexes the same series for Append's lookups (hashindex.go).
	byHash  hashIndex
	sorted  []string // index keys, sorted; nil when stale
	classes map[int64]*class
	w       *wal
	// epoch numbers the write-ahead log segments of this run: a series
	// whose logged epoch is not this one needs a base image logged.
	epoch uint64
	// batch holds the series logged as new in the current Update.
	batch map[string]*series
	// refs is Append's scratch: the series of each point logged (nil:
	// not logged), so applying it needs no second lookup.
	refs []*series
	// hs and sink are Append's prefetch scratch (hashindex.go).
	hs   []uint64
	sink uint64
	// unwritten are the new series whose base images are written to the
	// log but not yet synced, and so not yet written into their slots
	// (sync.go); syncs counts the log's fsyncs.
	unwritten []unwritten
	syncs     atomic.Uint64
	// dirty are the series with logged points not applied to their
	// slots yet (see deferred.go); deferredN counts those points. takenN
	// counts the points an apply pass took (series.applying) and has
	// not applied yet; spare is the list of the last pass, for reuse.
	dirty     []*series
	deferredN int
	takenN    int
	spare     []*series
	chunks    chunkPool // queue.go: the chunks of the waiting points
	// bgRunning: a pass started by an Append runs (pass.go); bg waits
	// for it at Close.
	bgRunning bool
	bg        sync.WaitGroup
	// applyHook (tests) runs between the slices of an apply pass
	// (pass.go), of at most applySlice series (0: no bound but time).
	applyHook  func()
	applySlice int
	h          header // scratch: the header of the series at hand
	io         slotIO // scratch: the rows of the series at hand
	hbuf       []byte
}

// Open opens (or creates) the store in opts.Dir and recovers it: the
// write-ahead log since the last checkpoint is replayed onto the slots,
// then a checkpoint makes the result durable.
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
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = time.Minute
	}
	if opts.MaxWALBytes <= 0 {
		opts.MaxWALBytes = 64 << 20
	}
	if opts.MaxDeferredPoints == 0 {
		opts.MaxDeferredPoints = DefaultMaxDeferredPoints
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		opts:     opts,
		slotsDir: filepath.Join(opts.Dir, "slots"),
		walDir:   filepath.Join(opts.Dir, "wal"),
		log:      opts.Logger.With("component", "seriesstore"),
		index:    make(map[string]*series),
		byHash:   newHashIndex(),
		classes:  make(map[int64]*class),
		batch:    make(map[string]*series),
		hbuf:     make([]byte, headerSize),
		chunks:   chunkPool{max: poolChunks(opts.MaxDeferredPoints)},
	}
	for _, d := range []string{opts.Dir, s.walDir} {
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

// Append logs the points and queues them for their series like Update,
// but does not fsync the log: the points survive a crash of the process
// at once, a crash of the machine once a Sync (or any of the store's
// own syncs) returned nil after Append. Nothing is written into a
// series' slot before the log records it depends on are durable (a new
// series is written into its slot by the sync that covers its base
// image), so a crash of the machine before the sync loses the appended
// points, never a series. With MaxDeferredPoints negative the points are
// applied at once, which needs the log synced first: Append is then
// Update. The error and the points' keys are as Update's.
func (s *Store) Append(points []Point) (Result, error) {
	res, target, err := s.appendLocked(points)
	if err != nil || target < 0 {
		return res, err
	}
	return res, s.relieve(target) // deferred.go
}

// appendLocked is Append under the store's lock. Past the bound of
// waiting points it applies what it can without an fsync and returns
// how few points should wait once the rest is applied after a sync
// without the lock (relieve), else -1.
func (s *Store) appendLocked(points []Point) (Result, int, error) {
	var res Result
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return res, -1, s.closed
	}
	refs := s.refs[:0]
	if cap(refs) < len(points) {
		refs = make([]*series, 0, len(points))
	}
	refs = refs[:len(points)]
	defer func() {
		clear(refs)
		if len(s.batch) > 0 {
			clear(s.batch)
		}
		s.refs = refs[:0]
	}()
	var hs []uint64
	for i := range points {
		if i%prefetchPoints == 0 { // the next points' series, into the cache
			end := min(len(points), i+prefetchPoints)
			hs = s.prefetch(points[i:end], refs[i:end]) // hashindex.go
		}
		p := &points[i]
		e, err := s.logPoint(p, hs[i%prefetchPoints])
		if err != nil {
			if errors.Is(err, errRejected) {
				res.Rejected++
				continue
			}
			if errors.Is(err, errOverLimit) {
				res.OverLimit++
				continue
			}
			if errors.Is(err, errNoSpace) {
				res.NoSpace++
				continue
			}
			return res, -1, s.fail(err)
		}
		refs[i] = e
	}
	if err := s.w.write(); err != nil {
		return res, -1, s.fail(err)
	}
	s.indexNew() // sync.go: written into their slots once the log is synced
	if s.opts.MaxDeferredPoints < 0 {
		if err := s.syncLog(); err != nil {
			return res, -1, s.fail(err)
		}
	}
	for i, e := range refs {
		if e == nil {
			continue
		}
		p := &points[i]
		e.end = s.w.size
		var err error
		if s.opts.MaxDeferredPoints < 0 {
			err = s.apply(e, p.Time, p.Value)
		} else {
			err = s.deferPoint(e, p.Time, p.Value) // deferred.go
		}
		switch {
		case err == nil:
			res.Accepted++
		case errors.Is(err, rrd.ErrStale):
			res.Stale++
		case errors.Is(err, rrd.ErrSkipped):
			res.Skipped++
		default:
			return res, -1, s.fail(err)
		}
	}
	target := -1
	if m := s.opts.MaxDeferredPoints; m >= 0 && s.deferredN >= 2*m {
		// Points come faster than passes apply them: bounded memory
		// first, each Append applying about as many as it queued,
		// those of synced series now (no fsync under the lock).
		target = max(0, 2*m-len(points))
		if err := s.applySynced(target); err != nil { // deferred.go
			return res, -1, s.fail(err)
		}
		if s.deferredN < target {
			target = -1
		}
	}
	if (s.opts.MaxDeferredPoints >= 0 && s.deferredN >= s.opts.MaxDeferredPoints) || s.w.size >= s.opts.MaxWALBytes {
		s.background() // an apply pass or a checkpoint beside Appends (pass.go)
	}
	return res, target, nil
}

var (
	errRejected  = errors.New("point rejected")
	errOverLimit = errors.New("the store holds its most series")
)

// logPoint checks p, whose key hashes to h, and queues its log records:
// the series' base image first when the series is new or not logged since
// the last checkpoint. It returns the series, new ones (not indexed before
// the log is written) included.
func (s *Store) logPoint(p *Point, h uint64) (*series, error) {
	if p.Key == "" || len(p.Key) > MaxKeyLen || p.Time < 0 || p.Time > rrd.MaxTime {
		return nil, errRejected
	}
	typ, err := rrd.ParseDSType(p.CounterType)
	if err != nil || p.Step < 1 {
		return nil, errRejected
	}
	e := s.byHash.getHashed(h, p.Key) // hashindex.go
	if e != nil && e.logged != s.epoch {
		if err := s.load(e); err != nil {
			s.quarantine(e, err) // the point starts the series anew below
			e = nil
		} else {
			e.base = s.w.addBase(&s.h, e.cls.size, e.ref, false)
			e.logged = s.epoch
			s.relogTaken(e) // pass.go
		}
	}
	if e == nil {
		e = s.batch[p.Key]
	}
	if e == nil {
		if e, err = s.create(p, typ); err != nil {
			return nil, err
		}
	} else if e.step != p.Step || (e.typ == rrd.Gauge) != (typ == rrd.Gauge) {
		return nil, errRejected
	}
	s.w.addPoint(e.base, p.Time, p.Value)
	return e, nil
}

// create logs a new series for p (its base image), to be indexed once
// the log is written and written into its slot once the log is synced
// (sync.go).
func (s *Store) create(p *Point, typ rrd.DSType) (*series, error) {
	if s.opts.MaxSeries > 0 && len(s.index)+len(s.batch) >= s.opts.MaxSeries {
		return nil, errOverLimit
	}
	spec, err := s.opts.Spec(p.Step, p.CounterType)
	if err != nil || spec.Validate() != nil {
		return nil, errRejected
	}
	key := strings.Clone(p.Key) // the caller may reuse p.Key's bytes
	start := max(0, p.Time-int64(s.opts.CreateLead/time.Second))
	h := &header{Key: key, CounterType: typ, Spec: spec, State: rrd.NewState(&spec, start)}
	if err := encodeHeader(s.hbuf, h); err != nil {
		return nil, errRejected
	}
	e := &series{key: key, step: spec.Step, typ: typ, cls: s.class(slotSize(&spec)),
		spec: spec.Type, last: h.State.LastUp, logged: s.epoch, pend: h}
	if e.ref, err = e.cls.alloc(); err != nil {
		return nil, err
	}
	s.batch[key] = e
	e.base = s.w.addBase(h, e.cls.size, e.ref, true)
	return e, nil
}

// class returns the class of slots of size bytes.
func (s *Store) class(size int64) *class {
	c := s.classes[size]
	if c == nil {
		c = newClass(s.slotsDir, size, s.opts.SegmentBytes)
		s.classes[size] = c
	}
	return c
}

// load decodes the header of series e into s.h and points s.io at its
// rows. Its only error is a corrupt header.
func (s *Store) load(e *series) error {
	slot := e.cls.slot(e.ref)
	if err := decodeHeaderInto(slot[:headerSize], &s.h, e.key); err != nil {
		return err
	}
	if slotSize(&s.h.Spec) != e.cls.size {
		return fmt.Errorf("cannot decode series header: its spec does not fit its slot: %w", errCorrupt)
	}
	s.io.set(slot, &s.h.Spec)
	return nil
}

// apply updates one series whose point is already logged: it decodes the
// header from the slot, updates, and writes the header back.
func (s *Store) apply(e *series, t int64, v float64) error {
	if err := s.load(e); err != nil {
		return fmt.Errorf("cannot update series %q: %w", e.key, err)
	}
	err := rrd.Update(&s.h.Spec, &s.h.State, &s.io, t, v)
	if err != nil {
		return err
	}
	e.cls.touch(e.ref)
	e.last = s.h.State.LastUp
	return encodeHeader(e.cls.slot(e.ref)[:headerSize], &s.h)
}

// fail marks the store failed: its in-memory state may be ahead of or
// behind the files, and only a reopen (which replays the log) repairs it.
func (s *Store) fail(err error) error {
	s.closed = fmt.Errorf("%w: %w (reopen the store to recover)", ErrClosed, err)
	s.closeFiles()
	return s.closed
}

// closeFiles unmaps and closes every segment and the log, writing nothing.
func (s *Store) closeFiles() {
	closeClasses(s.classes)
	if s.w != nil && s.w.f != nil {
		_ = s.w.f.Close()
	}
}

// Close checkpoints and closes the store.
func (s *Store) Close() error {
	err := s.close()
	s.bg.Wait() // a pass started by an Append finds the store closed
	return err
}

func (s *Store) close() error {
	s.lockCkpt()
	defer s.ckpt.Unlock()
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
