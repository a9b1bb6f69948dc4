package seriesstore

import (
	"fmt"
	"os"
	"path/filepath"
)

// Checkpoint makes every series file durable and starts a new write-ahead
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
	if err := s.flushHeaders(); err != nil {
		return err
	}
	dirs := make(map[string]bool)
	for key := range s.touched {
		path := seriesPath(s.seriesDir, key)
		dirs[filepath.Dir(path)] = true
		if err := syncFile(path); err != nil {
			return err
		}
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	if err := syncDir(s.seriesDir); err != nil {
		return err
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

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot open series file to sync: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync series file: %w", err)
	}
	return nil
}
