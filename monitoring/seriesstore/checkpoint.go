package seriesstore

import (
	"fmt"
	"os"
	"path/filepath"
)

// Checkpoint makes every segment written since the last one durable (one
// fsync per segment, not per series) and starts a new write-ahead
// log segment, deleting the old ones.
func (s *Store) Checkpoint() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return s.closed
	}
	if err := s.checkpointLocked(); err != nil {
		return s.fail(err)
	}
	return nil
}

func (s *Store) checkpointLocked() error {
	newSegs := false
	for _, c := range s.classes {
		for _, g := range c.segs {
			if g.dirty {
				if err := g.sync(); err != nil {
					return err
				}
			}
		}
		if c.newSegs {
			if err := syncDir(c.dir); err != nil {
				return err
			}
			c.newSegs, newSegs = false, true
		}
	}
	if newSegs {
		if err := syncDir(s.slotsDir); err != nil {
			return err
		}
		if err := syncDir(s.opts.Dir); err != nil {
			return err
		}
	}
	var seq uint64
	if s.w != nil {
		seq = s.w.seq
	}
	next, err := openSegment(s.walDir, seq+1)
	if err != nil {
		return err
	}
	if s.w != nil && s.w.f != nil {
		_ = s.w.f.Close()
	}
	s.w = next
	clear(s.touched)
	olds, err := segments(s.walDir)
	if err != nil {
		return err
	}
	for _, old := range olds {
		if old < next.seq {
			if err := os.Remove(filepath.Join(s.walDir, segmentName(old))); err != nil {
				return fmt.Errorf("cannot remove old write-ahead log segment: %w", err)
			}
		}
	}
	return syncDir(s.walDir)
}
