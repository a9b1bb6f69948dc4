package seriesstore

import (
	"errors"
	"fmt"
	"os"
)

// Group fsync. Append writes the log without an fsync; Sync fsyncs it for
// every Append before it, so a caller that batches many Appends pays one
// fsync for all of them and acknowledges their points only after it.
// The write-ahead rule still holds: no page of a series' slot is written
// (a point applied, a new series written into its slot, a checkpoint)
// while the log records of that series are not all synced: every such
// path calls syncLog first unless they are (needsSync, deferred.go; a
// read syncs with Sync, without the lock, then applies). Recovery syncs the log segments it finds before it
// replays them, as the process that wrote them may have died before its
// sync.

// unwritten is a new series whose base image the log holds up to byte
// end of its current segment, waiting for a sync past end to be written
// into its slot.
type unwritten struct {
	e   *series
	end int64
}

// Update logs the points durably (one fsync), then applies them in order.
// When it returns nil every counted point survives a crash. An error means
// the store failed (I/O) and must be reopened, which recovers it. Update
// keeps no reference to points nor to their keys' bytes once it returns
// (the key of a new series is copied), so a caller may build keys in a
// buffer it reuses. It is Append, then Sync.
func (s *Store) Update(points []Point) (Result, error) {
	res, err := s.Append(points)
	if err != nil {
		return res, err
	}
	return res, s.Sync()
}

// Sync makes every point of the Appends that returned before it durable:
// after it returns nil they survive a crash of the machine. The fsync
// runs without the store's lock, so Appends (to be covered by the next
// Sync) go on meanwhile. Without records written since the last sync it
// returns at once. An error means the store failed, as for Update.
func (s *Store) Sync() error {
	s.mu.Lock()
	if s.closed != nil {
		defer s.mu.Unlock()
		return s.closed
	}
	w := s.w
	if !w.unsynced() {
		s.mu.Unlock()
		return nil
	}
	target := w.size
	s.mu.Unlock()
	err := w.fsync(target)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed != nil {
		return s.closed
	}
	if err != nil {
		// Even when a checkpoint started a new segment meanwhile: its
		// fsync of this one came after the failure, and may have
		// returned 0 for pages the kernel dropped.
		return s.fail(fmt.Errorf("cannot sync write-ahead log: %w", err))
	}
	if s.w != w {
		return nil // rotate fsynced the segment (after this fsync, which succeeded)
	}
	w.synced = max(w.synced, target)
	if err := s.writeSynced(); err != nil {
		return s.fail(err)
	}
	return nil
}

// Syncs is the number of fsyncs of the write-ahead log so far (by Sync,
// Update, and before the store writes pages), for tests and metrics: a
// Sync whose records an fsync in progress covered does none and counts
// none.
func (s *Store) Syncs() uint64 { return s.syncs.Load() }

// syncLog (under the lock) fsyncs what the log holds unsynced and writes
// the new series it covers into their slots: every path that writes a
// page of a series file calls it first.
func (s *Store) syncLog() error {
	if err := s.w.sync(); err != nil {
		return err
	}
	return s.writeSynced()
}

// indexNew (under the lock, after the log is written) indexes the series
// logged as new by the current Append; they are written into their slots
// once the log is synced past their base images.
func (s *Store) indexNew() {
	for key, e := range s.batch {
		s.index[key] = e
		s.byHash.put(e)
		s.unwritten = append(s.unwritten, unwritten{e: e, end: s.w.size})
	}
	if len(s.batch) > 0 {
		s.sorted = nil
	}
}

// writeSynced writes the new series whose base images are synced into
// their slots.
func (s *Store) writeSynced() error {
	kept := s.unwritten[:0]
	for _, u := range s.unwritten {
		switch {
		case u.e.gone || u.e.pend == nil:
		case u.end > s.w.synced:
			kept = append(kept, u)
		default:
			if err := s.materialize(u.e); err != nil {
				return err
			}
		}
	}
	clear(s.unwritten[len(kept):])
	s.unwritten = kept
	return nil
}

// syncLogFiles fsyncs the log segments found at Open before they are
// replayed: the process that wrote them may have died before its sync,
// and replay writes pages from them.
func syncLogFiles(paths []string) error {
	var errs []error
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot open write-ahead log segment to sync: %w", err))
			continue
		}
		if err := f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("cannot sync write-ahead log segment: %w", err))
		}
		_ = f.Close()
	}
	return errors.Join(errs...)
}

// LogState is the current write-ahead log segment, the bytes written to
// it and how many of them an fsync made durable (a crash of the machine
// may lose the rest), for tests and diagnostics.
func (s *Store) LogState() (path string, written, synced int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil || s.w.f == nil {
		return "", 0, 0
	}
	return s.w.f.Name(), s.w.size, s.w.synced
}
