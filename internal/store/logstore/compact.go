package logstore

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// compact rewrites the log with only the live entries (each at its own
// version) and a last record that keeps the revision, fsyncs it and puts
// it in place of the old log with a rename. s.mu is held.
func (s *Store) compact() error {
	tmp := s.opts.Path + ".compact"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("cannot lock %s: %w", tmp, err)
	}
	buf := make([]byte, 0, 1<<20)
	var size int64
	flush := func() error {
		n, err := f.Write(buf)
		size += int64(n)
		buf = buf[:0]
		return err
	}
	for k, it := range s.m {
		buf = appendRecord(buf, opPut, it.ver, k, it.val)
		if len(buf) >= 1<<20 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	// The revision survives even when its key was deleted: versions never
	// go back (a stale compare-and-swap must not match a reused one).
	buf = appendRecord(buf, opDelete, s.rev, "", nil)
	if err := flush(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.opts.Path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(s.opts.Path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	ok = true
	old := s.f
	s.f, s.size, s.unsync = f, size, false
	_ = old.Close()
	s.log.Info("compacted the log store", "path", s.opts.Path, "bytes", size, "keys", len(s.m))
	return nil
}
