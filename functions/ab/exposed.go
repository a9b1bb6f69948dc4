package ab

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Exposed units: every decision that puts a unit in a variation by its
// hash records (unit, variation, first exposure time) for the experiment's
// bucket version, so results count the units that were exposed, each in
// the variation it saw. A node keeps a bounded, lossy set of the units it
// has recorded (a direct-mapped cache of hashes, lock-free on a hit) and
// writes the new ones in batches at each flush: one store write per batch
// of up to ExposedBatch units (a few go to the node's open batch of the
// experiment, rewritten until it holds OpenBatchMax), never one per
// decision. A unit the cache
// forgot is recorded again, and several nodes record the same unit: the
// reader merges every record of a unit (first exposure wins).

// exposedPrefix holds the batches of exposed units:
// ab/exposed/<counterID>/<node>-<sequence>.
const exposedPrefix = "ab/exposed/"

// ExposedBatch caps the units of one stored batch; OpenBatchMax is how
// many a node's open batch, rewritten at each flush, holds at most.
// ExposedBatchBytes caps the bytes of the unit ids of one stored batch.
const (
	ExposedBatch      = 10000
	OpenBatchMax      = 1000
	ExposedBatchBytes = 1 << 20
)

// Defaults of the exposure log.
const (
	// DefaultExposureSlots is the size of a node's set of recorded units
	// per experiment (a power of two; 8 bytes each: 512 KiB).
	DefaultExposureSlots = 1 << 16
	// DefaultMaxNewExposures is how many new unit exposures a node records
	// per flush interval for each experiment; once they are recorded
	// the interval's other exposures are not checked (counted in
	// wharf_ab_exposures_unchecked_total): their units are recorded at a
	// decision of a later interval.
	DefaultMaxNewExposures = 20000
)

// exposedKeyPrefix is where the batches of e's bucket version live.
func exposedKeyPrefix(e experiment.Experiment) string { return exposedPrefix + counterID(e) + "/" }

// exposedBatch is the stored value of one batch: parallel arrays.
type exposedBatch struct {
	Units      []string `json:"units"`
	Variations []int    `json:"variations"`
	// At are the first exposure times on the node, Unix milliseconds.
	At []int64 `json:"at"`
}

// add appends one unit's exposure to b.
func (b *exposedBatch) add(unit string, variation int, at int64) {
	b.Units = append(b.Units, unit)
	b.Variations = append(b.Variations, variation)
	b.At = append(b.At, at)
}

// unitLog is one experiment bucket version's exposed units on this node.
type unitLog struct {
	prefix string
	// seen is the set of (unit, variation) hashes recorded: a slot holds
	// the last hash that fell on it (lossy: a collision records again).
	seen []atomic.Uint64
	mask uint64
	// budget counts the new exposures of this flush interval, of at most
	// maxNew: each experiment has its own, so one experiment's traffic
	// does not keep another's units out.
	budget atomic.Int64
	maxNew int64
	// reported counts the reported exposures of this flush interval, of
	// at most maxReported (exposedcap.go).
	reported    atomic.Int64
	maxReported int64
	// full is set once the bucket version holds maxStored unit records:
	// nothing more is recorded.
	full      atomic.Bool
	maxStored int64
	mu        sync.Mutex
	// pending are the units recorded since the last flush, at most
	// pendingMax.
	pending    exposedBatch
	pendingMax int
	// flushMu guards the open batch (its key and what it holds) and the
	// stored count of the bucket version as this node last learnt it.
	flushMu     sync.Mutex
	openKey     string
	open        exposedBatch
	countKey    string
	stored      int64
	countLoaded bool
}

// newUnitLog is the log of e's bucket version within lim.
func newUnitLog(e experiment.Experiment, lim logLimits) *unitLog {
	return &unitLog{prefix: exposedKeyPrefix(e), countKey: exposedCountKey(e),
		seen: make([]atomic.Uint64, lim.slots), mask: uint64(lim.slots - 1),
		maxNew: int64(lim.maxNew), maxReported: int64(lim.maxReported), maxStored: int64(lim.maxStored),
		pendingMax: lim.pendingMax()}
}

// recordExposure records unit's exposure to variation of the experiment of
// ctr unless this node recorded it already; no lock and no allocation when
// it did. Once the experiment's budget of new exposures of this interval
// is spent the set is
// not even looked at (a look is a cache miss for a unit not seen lately):
// the exposure is counted as not checked, and the unit is recorded at a
// decision of a later interval.
func (f *Function) recordExposure(ctr *counter, unit string, variation int) {
	l := ctr.units
	if l.full.Load() {
		return
	}
	if l.budget.Load() >= l.maxNew {
		f.m.exposedUnchecked.Inc()
		return
	}
	h := unitHash(f.seed, unit, variation)
	if l.has(h) {
		return
	}
	if l.budget.Add(1) > l.maxNew {
		f.m.exposedUnchecked.Inc()
		return
	}
	if !l.add(h, unit, variation, f.opts.Now().UnixMilli()) {
		f.m.exposedSkipped.Inc()
	}
}

// unitHash is the set's hash of (unit, variation): a unit exposed to
// another variation is recorded again.
func unitHash(seed maphash.Seed, unit string, variation int) uint64 {
	return (maphash.String(seed, unit) + uint64(variation+1)*0x9e3779b97f4a7c15) | 1
}

// has reports whether the set holds h.
func (l *unitLog) has(h uint64) bool { return l.seen[h&l.mask].Load() == h }

// add puts h in the set and the unit in the pending batch; false when
// the pending batch is full (the unit is not recorded).
func (l *unitLog) add(h uint64, unit string, variation int, at int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending.Units) >= l.pendingMax {
		return false
	}
	l.seen[h&l.mask].Store(h)
	l.pending.add(unit, variation, at)
	return true
}

// record records a reported exposure (report.go) unless the set holds
// it, outside the budget of new decided exposures (report.go charges its
// own); false when it could not be recorded (pending or stored full).
func (l *unitLog) record(seed maphash.Seed, unit string, variation int, at int64) bool {
	if l.full.Load() {
		return false
	}
	if h := unitHash(seed, unit, variation); !l.has(h) {
		return l.add(h, unit, variation, at)
	}
	return true
}

// flushExposed writes the units l recorded since the last flush. A few
// are added to the node's open batch of l, rewritten whole while it holds
// fewer than OpenBatchMax units (so an experiment with a trickle of new
// units does not leave a key per second, and a rewrite stays small);
// more go to new batches of up to ExposedBatch units. Units that cannot
// be written are kept for the next flush (up to 10 intervals' worth, then
// dropped and counted).
func (f *Function) flushExposed(ctx context.Context, l *unitLog) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.budget.Store(0)
	l.reported.Store(0)
	l.mu.Lock()
	b := l.pending
	l.pending = exposedBatch{}
	l.mu.Unlock()
	if len(b.Units) == 0 {
		return
	}
	f.syncStored(ctx, l)
	if room := int(max(0, l.maxStored-l.stored)); len(b.Units) > room {
		f.m.exposedSkipped.Add(len(b.Units) - room)
		b = exposedBatch{Units: b.Units[:room], Variations: b.Variations[:room], At: b.At[:room]}
		l.full.Store(true)
	}
	written := 0
	defer func() {
		if written > 0 {
			if n, err := f.addStoredCount(ctx, l.countKey, int64(written)); err == nil {
				l.noteStored(n)
			} else {
				l.noteStored(l.stored + int64(written))
			}
		}
	}()
	for len(b.Units) > 0 {
		key, n, next := l.openKey, len(b.Units), exposedBatch{}
		if key != "" && len(l.open.Units)+n <= OpenBatchMax {
			next = exposedBatch{
				Units:      append(slices.Clip(l.open.Units), b.Units...),
				Variations: append(slices.Clip(l.open.Variations), b.Variations...),
				At:         append(slices.Clip(l.open.At), b.At...),
			}
		} else {
			key = l.prefix + f.nodeID + "-" + fmt.Sprintf("%016x", f.batchSeq.Add(1))
			n = batchLen(b.Units, ExposedBatch, ExposedBatchBytes)
			next = exposedBatch{Units: b.Units[:n:n], Variations: b.Variations[:n:n], At: b.At[:n:n]}
		}
		if err := f.putExposed(ctx, key, next); err != nil {
			f.flushWarn("cannot store exposed units; kept for the next flush", "prefix", l.prefix, "units", len(b.Units), "err", err)
			f.m.flushErrors.Inc()
			f.m.exposedDropped.Add(l.requeue(f.seed, b))
			return
		}
		l.openKey, l.open = "", exposedBatch{}
		if len(next.Units) < OpenBatchMax {
			l.openKey, l.open = key, next
		}
		f.m.exposedUnits.Add(n)
		written += n
		b = exposedBatch{Units: b.Units[n:], Variations: b.Variations[n:], At: b.At[n:]}
	}
}

// batchLen is how many of units, at least one, fit a batch of at most
// max units and maxBytes bytes of unit ids.
func batchLen(units []string, max, maxBytes int) int {
	n, size := 0, 0
	for n < len(units) && n < max {
		size += len(units[n])
		if n > 0 && size > maxBytes {
			break
		}
		n++
	}
	return n
}

// requeue puts back in the pending batch the units of b that could not be
// written, up to pendingMax; it drops the others and forgets them in the
// set (each slot still holding its hash), so that they are recorded again
// at their next decision. It returns how many it dropped.
func (l *unitLog) requeue(seed maphash.Seed, b exposedBatch) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range b.Units {
		if len(l.pending.Units) >= l.pendingMax {
			for j := i; j < len(b.Units); j++ {
				h := unitHash(seed, b.Units[j], b.Variations[j])
				l.seen[h&l.mask].CompareAndSwap(h, 0)
			}
			return len(b.Units) - i
		}
		l.pending.add(b.Units[i], b.Variations[i], b.At[i])
	}
	return 0
}

// putExposed writes batch b under key.
func (f *Function) putExposed(ctx context.Context, key string, b exposedBatch) error {
	v, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("cannot encode exposed units: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
	defer cancel()
	if _, err := f.opts.Store.Put(cctx, key, v, store.PutOptions{}); err != nil {
		return fmt.Errorf("cannot store exposed units: %w", err)
	}
	return nil
}

// exposedUnit is one unit's merged exposure records.
type exposedUnit struct {
	variation int
	first     int64
	// multiple is set when the unit was exposed to two variations.
	multiple bool
}

// exposedSet is the exposed units of an experiment's bucket version.
type exposedSet struct {
	units map[string]exposedUnit
	// counts are the units per variation, without those exposed to
	// several; multiple counts those.
	counts   []int64
	multiple int
	// max caps the units read; truncated is set when units were left out
	// (more than max) or the bucket version's log stopped at the cap.
	max       int
	truncated bool
}

// merge adds the records of b to s: a unit's first exposure wins, and a
// unit exposed to two variations is marked multiple; records naming no
// variation of the experiment are skipped.
func (s *exposedSet) merge(b exposedBatch, variations int) {
	for i, u := range b.Units {
		if i >= len(b.Variations) || i >= len(b.At) || b.Variations[i] < 0 || b.Variations[i] >= variations {
			continue
		}
		v, at := b.Variations[i], b.At[i]
		cur, ok := s.units[u]
		switch {
		case !ok && len(s.units) >= s.max:
			s.truncated = true
			continue
		case !ok:
			cur = exposedUnit{variation: v, first: at}
		case cur.variation != v:
			cur.multiple = true
			if at < cur.first {
				cur.variation, cur.first = v, at
			}
		case at < cur.first:
			cur.first = at
		}
		s.units[u] = cur
	}
}

// exposedUnits reads every exposed unit of e's bucket version: the stored
// batches of every node and this node's not yet flushed.
func (f *Function) exposedUnits(r *fnapi.Request, e experiment.Experiment) (*exposedSet, error) {
	s := &exposedSet{units: map[string]exposedUnit{}, counts: make([]int64, len(e.Variations)), max: f.opts.MaxStoredUnits}
	stored, _, err := f.readStoredCount(r.Context(), exposedCountKey(e))
	if err != nil {
		return nil, httperr.Unavailable(err, "cannot read the exposed units")
	}
	s.truncated = stored >= int64(f.opts.MaxStoredUnits)
	prefix := exposedKeyPrefix(e)
	for en, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot read the exposed units")
		}
		var b exposedBatch
		if err := json.Unmarshal(en.Value, &b); err != nil {
			f.log.Warn("undecodable exposed units", "key", en.Key, "err", err)
			continue
		}
		s.merge(b, len(e.Variations))
	}
	f.mu.Lock()
	var logs []*unitLog
	for _, c := range f.counters {
		if c.units.prefix == prefix {
			logs = append(logs, c.units)
		}
	}
	f.mu.Unlock()
	for _, l := range logs {
		l.mu.Lock()
		b := exposedBatch{Units: append([]string(nil), l.pending.Units...), Variations: append([]int(nil), l.pending.Variations...), At: append([]int64(nil), l.pending.At...)}
		l.mu.Unlock()
		s.merge(b, len(e.Variations))
	}
	for _, u := range s.units {
		if u.multiple {
			s.multiple++
			continue
		}
		s.counts[u.variation]++
	}
	return s, nil
}

// newNodeID is a random name of this node's batches.
func newNodeID(seed maphash.Seed) string {
	return strconv.FormatUint(maphash.String(seed, "wharf-ab-node"), 36)
}
