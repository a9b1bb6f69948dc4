package seriesstore

import (
	"runtime"
	"time"
)

// Apply passes. Applying a shard's waiting points takes long (a minute of
// 12,500 series at a few hundred points each is seconds of work), and
// the writer's Appends, Syncs and the reads need the store's lock. So a
// pass takes the points waiting when it starts (each series' queue moves
// to series.applying; later points queue anew), syncs the log without the
// lock, then applies the series in slot order in slices of about
// sliceWork, releasing the lock between slices. Every path that reads or
// rewrites a series applies its taken points first, under the lock, so
// reads see every point and the order of a series' points is kept: a
// read (applySeries), a quarantine (drops them with the series).
//
// A checkpoint's second pass applies points of the old log segment while
// Appends log to the new one: a series' first point there logs its base
// image from the slot, which may not hold the points taken from the old
// segment yet; they are logged again after it (relogTaken), so the new
// segment alone replays the series (base image, taken points, new
// points) and the old one may go. Replaying both gives the same state:
// each point applies again exactly as the first time. Append writes no
// page for it (a write fault on a mapped segment can wait for the disk).
//
// Passes run one at a time, holding ckpt: a checkpoint's (Checkpoint, Run)
// and the one an Append starts in the background when MaxDeferredPoints
// wait or the log segment outgrew MaxWALBytes (background), which goes
// on with more passes while points keep coming unless a checkpoint or
// Close waits for ckpt (lockCkpt): then it stops after its pass. Appends do
// not wait for it; only when points pile up faster than passes apply them
// (2 × MaxDeferredPoints waiting) does an Append apply some itself, about
// as many as it queued: those of series whose records are synced, oldest
// queued first (applySynced); when they are not enough, it syncs the log
// without the lock first (relieve), so no Append fsyncs holding it.

// sliceWork is about how long an apply pass holds the store's lock at a
// time: an Append waits for at most about this much applying.
const sliceWork = time.Millisecond

// take (under the lock) takes every waiting point for a pass: the series
// queued so far, in slot order, their queues moved to applying.
func (s *Store) take() []*series {
	list := s.dirty
	s.dirty = s.spare[:0]
	s.spare = nil
	for _, e := range list {
		e.queued = false
		e.applying, e.samples = e.samples, queue{} // applying is empty: the last pass applied it
	}
	s.takenN += s.deferredN
	s.deferredN = 0
	return list
}

// release (under the lock) keeps a pass's list for the next one.
func (s *Store) release(list []*series) {
	clear(list)
	if s.spare == nil {
		s.spare = list[:0]
	}
}

// applyPass (holding ckpt, not the lock) applies every point waiting when
// it starts, beside Appends.
func (s *Store) applyPass() error {
	s.mu.Lock()
	if s.closed != nil {
		defer s.mu.Unlock()
		return s.closed
	}
	list := s.take()
	s.mu.Unlock()
	// The write-ahead rule: the taken points are in the log before any
	// page is written; the fsync runs without the lock, as Sync's does.
	if err := s.Sync(); err != nil {
		return err
	}
	return s.applyTakenList(list)
}

// applyTakenList (holding ckpt, not the lock) applies the taken points of
// list, which are synced, in slices.
func (s *Store) applyTakenList(list []*series) error {
	inSlotOrder(list) // a series' slot does not change while it is indexed
	for i := 0; ; {
		s.mu.Lock()
		if s.closed != nil {
			defer s.mu.Unlock()
			return s.closed
		}
		start, n := time.Now(), 0
		for i < len(list) && (s.applySlice == 0 || n < s.applySlice) {
			e := list[i]
			i++
			if e.gone || e.applying.n == 0 { // quarantined, or applied by a read
				continue
			}
			if err := s.applyTaken(e); err != nil {
				defer s.mu.Unlock()
				return s.fail(err)
			}
			n++
			if time.Since(start) >= sliceWork {
				break
			}
		}
		if i == len(list) {
			s.release(list)
			s.mu.Unlock()
			return nil
		}
		hook := s.applyHook
		s.mu.Unlock()
		if hook != nil {
			hook()
		}
		runtime.Gosched() // a waiting Append takes the lock now
	}
}

// relogTaken (under the lock, for the first point of series e in a new
// log segment, after its base image) logs again the points a pass took
// from e in an older segment and has not applied yet.
func (s *Store) relogTaken(e *series) {
	for c := e.applying.head; c != nil; c = c.next {
		for _, p := range c.pts[:c.n] {
			s.w.addPoint(e.base, p.t, p.v)
		}
	}
}

// background (under the lock) starts a pass beside the Append that found
// too many points waiting or the log segment too large, unless one runs.
func (s *Store) background() {
	if s.bgRunning {
		return
	}
	s.bgRunning = true
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		s.ckpt.Lock()
		defer s.ckpt.Unlock()
		for {
			s.mu.Lock()
			// A checkpoint or Close waiting for ckpt goes first: it
			// applies every waiting point too, and the next Append past
			// a trigger starts passes again.
			ok := s.closed == nil && s.ckptWaiting.Load() == 0
			ckpt := ok && s.w.size >= s.opts.MaxWALBytes
			apply := ok && s.opts.MaxDeferredPoints >= 0 && s.deferredN >= s.opts.MaxDeferredPoints
			if !ckpt && !apply {
				s.bgRunning = false
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			var err error
			if ckpt {
				err = s.checkpoint()
			} else {
				err = s.applyPass()
			}
			if err != nil { // the store failed
				s.log.Error("cannot apply waiting points", "err", err)
				s.mu.Lock()
				s.bgRunning = false
				s.mu.Unlock()
				return
			}
		}
	}()
}

// lockCkpt takes ckpt for a checkpoint or Close: a background goroutine
// holding it stops after the pass in progress instead of starting
// another (background).
func (s *Store) lockCkpt() {
	s.ckptWaiting.Add(1)
	s.ckpt.Lock()
	s.ckptWaiting.Add(-1)
}
