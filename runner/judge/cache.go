package judge

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// errStateConflict answers the point batches held while a state of their
// shard was written by someone else (another judge took the shard): nsqd
// delivers them again, to whichever judge holds the shard, and points
// already in the stored state are skipped as not newer.
var errStateConflict = errors.New("judge state changed under a held batch; judging it again")

// shardCache keeps the states of one held shard in memory between the
// point batches (write-behind). A batch whose points decide no event
// changes only the cached records; the consumer holds its NSQ message
// (bus.Message.Hold) until a flush has written every record it dirtied
// with one compare-and-swap round, and only then finishes it. A judge that
// dies loses only held batches, which nsqd delivers again. The stored
// record stays the only truth for everything else: a record with events to
// publish, a strategy edit to reconcile, a tick or a sweep goes through
// update, which first writes and drops the record's cached copy
// (flushKey).
//
// mu serializes the shard's batch, its flushes and flushKey; lock order:
// record locks (Judge.records), then mu.
type shardCache struct {
	mu      sync.Mutex
	entries map[string]*cachedRecord
	dirty   int
	// dirtyRecs lists the records made dirty since the last flush (one
	// may be clean, or dropped from entries, by then: the flush skips
	// it), so that a flush does not walk every cached record.
	dirtyRecs []*cachedRecord
	// Scratch of storeDirty, kept from one flush to the next.
	swaps   []store.Swap
	written []*cachedRecord
	arena   []byte
	// recs is fillCache's scratch: the records of a batch's items.
	recs []*cachedRecord
	// scratch is judgeCached's window being judged, kept from one batch
	// to the next.
	scratch []mjudge.Sample
	// lookups counts fillCache's lookups in entries: items whose series
	// index match did not remember a record still cached (for tests).
	lookups int
	// held answers the batches whose records are dirty; heldPoints counts
	// their points.
	held       []func(error)
	heldPoints int
	// conflicted: a flush lost a compare-and-swap, so the held batches are
	// requeued rather than finished.
	conflicted bool
	// stopping: the shard is being stopped; batches are flushed at once.
	stopping bool
}

// cachedRecord is a record and the store version it was read or written at
// (0: not stored yet). The fields a batch reads of every point's record
// come first, the window's own storage right after them: a point's record
// is a run of adjacent cache lines, not a record and a window elsewhere.
type cachedRecord struct {
	// key is set when the record is made and never changed (the series
	// index's prefetch reads it without the cache's mu).
	key string
	// cache is the cache whose entries hold the record, nil once it was
	// dropped from them: a pointer to the record kept beside the map (the
	// series index's seriesMatch.rec) is used only while cache is the
	// cache asked. Changed only with that cache's mu held.
	cache *shardCache
	dirty bool
	rec   record
	// win holds rec.State.Points once the batches judged them, when they
	// fit (a window of at most len(win) points: every Falcon function up
	// to #5), so that the window needs no allocation of its own (see
	// keepWindow). Written only by the batch (with the series index's mu
	// held), so that the index's prefetch may read it.
	win [5]mjudge.Sample
	// tagsEnc is tagsOf encoded (mjudge.AppendTags): the state's Tags
	// encoded while they are that same map (series' tags never change),
	// so that a flush does not walk and sort the map of every state.
	tagsOf  map[string]string
	tagsEnc []byte
	ver     uint64
	// ref is the state store's handle of the key from the last write
	// (store.SwapResult.Ref; nil: none), handed back with the next one.
	ref any
}

func newShardCache() *shardCache {
	return &shardCache{entries: map[string]*cachedRecord{}}
}

// encodedTags returns e's state's Tags encoded when e keeps them (the
// same map as tagsOf), else nil.
func (e *cachedRecord) encodedTags() []byte {
	if e.tagsEnc == nil || e.tagsOf == nil || e.rec.State.Tags == nil ||
		reflect.ValueOf(e.tagsOf).UnsafePointer() != reflect.ValueOf(e.rec.State.Tags).UnsafePointer() {
		return nil
	}
	return e.tagsEnc
}

// add caches e (whose key is not cached). c.mu is held.
func (c *shardCache) add(e *cachedRecord) {
	e.cache = c
	c.entries[e.key] = e
}

// remove drops e from the cache when it is the cached record of its key,
// marks it dropped and lets go of its state (the series index may still
// point at it: it must hold nothing, or memory would not be bounded by
// MaxCachedStates). The callers encoded it before. c.mu is held.
func (c *shardCache) remove(e *cachedRecord) {
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	if e.cache == c {
		release(e)
	}
}

// release marks e dropped and lets go of its state.
func release(e *cachedRecord) {
	e.cache, e.rec, e.ref, e.tagsOf, e.tagsEnc = nil, record{}, nil, nil, nil
}

// cached returns the record of m's key that c holds when m remembers it
// (no lookup), else nil. c.mu is held.
func (m *seriesMatch) cached(c *shardCache) *cachedRecord {
	if m == nil || m.rec == nil || m.rec.cache != c {
		return nil
	}
	return m.rec
}

// cacheOf returns the cache of shard i, nil when the judge writes through
// (FlushInterval < 0) or does not hold the shard.
func (j *Judge) cacheOf(i int) *shardCache {
	if j.opts.FlushInterval < 0 {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.caches[i]
}

// hold finishes a batch that dirtied cached records: it holds m (when the
// batch came from nsqd) until the next flush; the flush runs now when the
// held batches reach their bound, the shard is stopping, or m is nil (a
// direct call, which expects its records stored on return).
func (j *Judge) hold(ctx context.Context, c *shardCache, m *bus.Message, points int) error {
	if m != nil {
		c.held = append(c.held, m.Hold())
		c.heldPoints += points
	}
	if m == nil || c.stopping || len(c.held) >= j.opts.MaxHeld || c.heldPoints >= j.opts.MaxHeldPoints {
		return j.flushLocked(ctx, c)
	}
	return nil
}

// flushLocked writes the dirty records of c with one compare-and-swap
// round and answers the held batches: finished when every write took,
// requeued when one lost (its record is dropped from the cache and read
// again) or the store failed (every dirty record is dropped). c.mu is held.
func (j *Judge) flushLocked(ctx context.Context, c *shardCache) error {
	flushErr := j.storeDirty(ctx, c, c.dirtyRecs)
	clear(c.dirtyRecs)
	c.dirtyRecs = c.dirtyRecs[:0]
	answer := flushErr
	if answer == nil && c.conflicted {
		answer = errStateConflict
	}
	for _, done := range c.held {
		done(answer)
	}
	c.held, c.heldPoints, c.conflicted = nil, 0, false
	j.trimCache(c)
	return flushErr
}

// storeDirty writes the dirty ones of recs with one compare-and-swap
// round: a record written is clean at its new version, a lost or
// unencodable one is dropped from the cache and marks the held batches
// for requeueing, and when the store fails every one of them is dropped
// and the error returned. A record dropped from the cache is clean. c.mu
// is held.
func (j *Judge) storeDirty(ctx context.Context, c *shardCache, recs []*cachedRecord) error {
	swaps, written := c.swaps[:0], c.written[:0]
	// The records are encoded one after the other into one buffer (the
	// store copies what it keeps), kept for the next flush.
	arena := c.arena[:0]
	defer func() {
		clear(swaps)
		clear(written)
		c.swaps, c.written = swaps[:0], written[:0]
		if cap(arena) <= maxKeptArena {
			c.arena = arena[:0]
		} else {
			c.arena = nil
		}
	}()
	for _, e := range recs {
		if !e.dirty {
			continue
		}
		e.dirty = false
		c.dirty--
		start := len(arena)
		next, err := appendRecordTags(arena, &e.rec, e.encodedTags())
		if err != nil {
			c.remove(e)
			c.conflicted = true
			continue
		}
		arena = next
		val := arena[start:len(arena):len(arena)]
		written = append(written, e)
		swaps = append(swaps, store.Swap{Key: e.key, Expect: e.ver, Value: val, Ref: e.ref})
	}
	if len(swaps) == 0 {
		return nil
	}
	start := time.Now()
	res, err := store.CompareAndSwapMany(ctx, j.opts.StateStore, swaps)
	j.stats.flushSeconds.UpdateDuration(start)
	j.stats.flushedStates.Add(len(swaps))
	if err != nil {
		for _, e := range written {
			c.remove(e)
		}
		c.conflicted = true
		return fmt.Errorf("cannot write judge states: %w", err)
	}
	for n, r := range res {
		if r.Err != nil {
			c.remove(written[n])
			c.conflicted = true
			continue
		}
		written[n].ver, written[n].ref = r.Version, r.Ref
	}
	return nil
}

// maxKeptArena bounds the encoding buffer a shard's cache keeps between
// flushes.
const maxKeptArena = 16 << 20

// trimCache drops clean records beyond MaxCachedStates per shard (map
// order: an arbitrary choice); they are read again when their series
// comes back. A dropped record lets go of its state: the series index may
// point to it until its series comes back.
func (j *Judge) trimCache(c *shardCache) {
	over := len(c.entries) - j.opts.MaxCachedStates
	if over <= 0 {
		return
	}
	for key, e := range c.entries {
		if over <= 0 {
			return
		}
		if !e.dirty {
			delete(c.entries, key)
			release(e)
			over--
		}
	}
}

// flushKey writes the cached record at key (when dirty) and drops it from
// the cache, so that update reads and writes the stored record. The
// caller holds the record's lock.
func (j *Judge) flushKey(ctx context.Context, key string, shard int) error {
	c := j.cacheOf(shard)
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil
	}
	return j.dropCachedLocked(ctx, c, []*cachedRecord{e})
}

// dropCachedLocked writes the dirty ones of recs (storeDirty) and drops
// them all from the cache. c.mu is held.
func (j *Judge) dropCachedLocked(ctx context.Context, c *shardCache, recs []*cachedRecord) error {
	err := j.storeDirty(ctx, c, recs)
	for _, e := range recs {
		c.remove(e)
	}
	return err
}

// flushAll flushes the caches of every held shard: a tick or a sweep
// scans the stored records and must find the series only cached so far.
func (j *Judge) flushAll(ctx context.Context) {
	j.mu.Lock()
	caches := make(map[int]*shardCache, len(j.caches))
	for i, c := range j.caches {
		caches[i] = c
	}
	j.mu.Unlock()
	for i, c := range caches {
		c.mu.Lock()
		err := j.flushLocked(ctx, c)
		c.mu.Unlock()
		if err != nil {
			j.log.Warn("cannot flush judge states; their batches come again", "shard", i, "err", err)
		}
	}
}

// flushLoop flushes shard i's cache every FlushInterval until stop closes.
func (j *Judge) flushLoop(ctx context.Context, i int, c *shardCache, stop <-chan struct{}) {
	t := time.NewTicker(j.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			c.mu.Lock()
			var err error
			if len(c.held) > 0 || c.dirty > 0 {
				err = j.flushLocked(ctx, c)
			}
			c.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				j.log.Warn("cannot flush judge states; their batches come again", "shard", i, "err", err)
			}
		}
	}
}
