package seriesstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Run checkpoints every CheckpointEvery (the first after CheckpointPhase
// of it) until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	first := s.opts.CheckpointEvery
	if p := s.opts.CheckpointPhase; p > 0 && p < 1 {
		first = time.Duration(p * float64(first))
	}
	t := time.NewTimer(first)
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
			t.Reset(s.opts.CheckpointEvery)
		}
	}
}

// Checkpoint makes every segment written since the last one durable (one
// fsync per segment, not per series) and starts a new write-ahead log
// segment, deleting the old ones. Updates go on meanwhile: the waiting
// points are applied in slices that release the store's lock (pass.go),
// and the fsyncs run without it. Points logged after the new log segment
// started are logged there, base images first; the old segments are
// deleted only once every point they hold is applied and the segments
// fsynced (a crash before replays both, in order).
func (s *Store) Checkpoint() error {
	s.lockCkpt()
	defer s.ckpt.Unlock()
	return s.checkpoint()
}

// checkpoint (holding ckpt, not the lock) is Checkpoint: first the points
// waiting now are applied (beside Appends, which queue more); then, under
// the lock, the log's tail is synced, a new log segment starts and the
// points queued meanwhile (all in the old segment, all synced) are taken;
// they are applied beside Appends again (a series' first point in the new
// segment logs them again after its base image, pass.go); then
// the segments written are fsynced and the old log segments go.
func (s *Store) checkpoint() error {
	if err := s.applyPass(); err != nil {
		return err
	}
	if err := s.Sync(); err != nil { // so that rotate's sync, under the lock, finds little to do
		return err
	}
	// Only checkpoints start log segments (one at a time: ckpt), so the
	// next one is created, and its name made durable, without the lock.
	s.mu.Lock()
	if s.closed != nil {
		defer s.mu.Unlock()
		return s.closed
	}
	seq := s.w.seq + 1
	s.mu.Unlock()
	next, err := openSegment(s.walDir, seq)
	s.mu.Lock()
	if s.closed != nil {
		defer s.mu.Unlock()
		if next != nil {
			_ = next.f.Close()
		}
		return s.closed
	}
	if err == nil {
		err = s.rotateTo(next)
	}
	if err != nil {
		defer s.mu.Unlock()
		return s.fail(err)
	}
	list := s.take()
	s.mu.Unlock()
	if err := s.applyTakenList(list); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed != nil {
		defer s.mu.Unlock()
		return s.closed
	}
	c := s.written(seq)
	s.mu.Unlock()
	// The old log segments are no one's but this checkpoint's now: they
	// go without the lock too.
	err = c.sync()
	if err == nil {
		err = s.dropLog(c.seq)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return s.closed
	}
	if err != nil {
		return s.fail(err)
	}
	return nil
}

// checkpointLocked is a checkpoint under the store's lock (at Open and
// Close, no pass running).
func (s *Store) checkpointLocked() error {
	if err := s.applyDeferred(); err != nil {
		return err
	}
	seq, err := s.rotate()
	if err != nil {
		return err
	}
	c := s.written(seq)
	if err := c.sync(); err != nil {
		return err
	}
	return s.dropLog(c.seq)
}

// checkpoint is what one checkpoint must make durable before the log
// segments older than seq go.
type checkpoint struct {
	segs []*segment
	dirs []string
	seq  uint64
}

// rotate (under the lock) starts the next log segment and returns its
// number: every update from now on is logged there, base images first.
func (s *Store) rotate() (uint64, error) {
	var seq uint64
	if s.w != nil {
		seq = s.w.seq
	}
	next, err := openSegment(s.walDir, seq+1)
	if err != nil {
		return 0, err
	}
	return next.seq, s.rotateTo(next)
}

// rotateTo (under the lock) makes next, a new empty log segment, the
// current one.
func (s *Store) rotateTo(next *wal) error {
	// The old segment is closed below: whatever it holds unsynced is
	// synced first, and the new series it covers are in their slots
	// before the segments are.
	if err := s.syncLog(); err != nil {
		_ = next.f.Close()
		return err
	}
	if s.w != nil && s.w.f != nil {
		_ = s.w.f.Close()
	}
	next.fsyncFile, next.fsyncs = s.fsyncFile, &s.syncs
	s.w = next
	s.epoch++ // every series needs its base image in the new segment
	return nil
}

// written (under the lock, once every point of the log segments before
// seq is applied) takes the segments written and the directories changed
// since the last checkpoint: fsynced, they hold every point of those log
// segments, which may then go.
func (s *Store) written(seq uint64) checkpoint {
	c := checkpoint{seq: seq}
	newSegs := false
	for _, cl := range s.classes {
		for _, g := range cl.segs {
			if g.dirty {
				c.segs = append(c.segs, g)
				g.dirty = false
			}
		}
		if cl.newSegs {
			c.dirs = append(c.dirs, cl.dir)
			cl.newSegs, newSegs = false, true
		}
	}
	if newSegs {
		c.dirs = append(c.dirs, s.slotsDir, s.opts.Dir)
	}
	return c
}

// sync fsyncs the checkpoint's segments and directories.
func (c *checkpoint) sync() error {
	for _, g := range c.segs {
		if err := g.sync(); err != nil {
			return err
		}
	}
	for _, d := range c.dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// dropLog deletes the log segments older than seq.
func (s *Store) dropLog(seq uint64) error {
	olds, err := segments(s.walDir)
	if err != nil {
		return err
	}
	for _, old := range olds {
		if old < seq {
			if err := os.Remove(filepath.Join(s.walDir, segmentName(old))); err != nil {
				return fmt.Errorf("cannot remove old write-ahead log segment: %w", err)
			}
		}
	}
	return syncDir(s.walDir)
}
