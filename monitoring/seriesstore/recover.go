package seriesstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// recover replays the write-ahead log onto the series files, indexes the
// series and checkpoints.
func (s *Store) recover() error {
	seqs, err := segments(s.walDir)
	if err != nil {
		return err
	}
	replayed := 0
	for _, seq := range seqs {
		path := filepath.Join(s.walDir, segmentName(seq))
		good, err := readSegment(path, func(r *record) error {
			replayed++
			return s.replay(r)
		})
		if errors.Is(err, errTorn) {
			s.log.Warn("write-ahead log ends in a torn or corrupt record; the points after it were never acknowledged",
				"segment", segmentName(seq), "good_bytes", good)
		} else if err != nil {
			return fmt.Errorf("cannot replay write-ahead log: %w", err)
		}
	}
	if err := s.scan(); err != nil {
		return err
	}
	s.w = &wal{dir: s.walDir}
	if len(seqs) > 0 {
		s.w.seq = seqs[len(seqs)-1]
	}
	if err := s.checkpointLocked(); err != nil {
		return fmt.Errorf("cannot checkpoint after recovery: %w", err)
	}
	if replayed > 0 {
		s.log.Info("series store recovered", "records", replayed, "series", len(s.index))
	}
	return nil
}

// replay applies one log record: a base image resets the series' header
// (and for a new series its whole file); a point updates it exactly as the
// first time, so rows a crash tore are written again.
func (s *Store) replay(r *record) error {
	switch r.kind {
	case kindBase:
		key := r.h.Key
		if old := s.open.remove(key); old != nil {
			_ = old.close()
		}
		path := seriesPath(s.seriesDir, key)
		var sf *seriesFile
		var err error
		if !r.isNew {
			sf, err = openForBase(path, &r.h)
		}
		if r.isNew || sf == nil {
			if !r.isNew {
				s.log.Error("series file lost its rows; recreating it from the log", "series", key, "err", err)
			}
			if sf, err = createSeriesFile(path, r.h); err != nil {
				return err
			}
		}
		sf.h = r.h
		sf.dirty = true
		s.touched[key] = true
		s.addIndex(&r.h)
		return s.keepOpen(sf)
	case kindPoint:
		sf, err := s.file(r.key)
		if errors.Is(err, ErrNotFound) {
			s.log.Warn("write-ahead log point without its series; skipped", "series", r.key)
			return nil
		}
		if err != nil {
			return err
		}
		err = rrd.Update(&sf.h.Spec, &sf.h.State, sf, r.t, r.v)
		if err == nil {
			sf.dirty = true
		} else if !errors.Is(err, rrd.ErrStale) && !errors.Is(err, rrd.ErrSkipped) {
			return err
		}
	}
	return nil
}

// openForBase opens the file a base image belongs to, whatever its
// (possibly torn) header says; nil when the file is missing or of the
// wrong size, so the rows cannot be trusted.
func openForBase(path string, h *header) (*seriesFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil || st.Size() != fileSize(&h.Spec) {
		_ = f.Close()
		if err == nil {
			err = fmt.Errorf("size %d, want %d: %w", st.Size(), fileSize(&h.Spec), errCorrupt)
		}
		return nil, err
	}
	return mapSeries(f, path, *h)
}

// scan indexes every series file; a file that cannot be read is renamed
// aside (never overwritten) and reported.
func (s *Store) scan() error {
	opened := make(map[string]bool)
	for _, sf := range s.open.all() {
		opened[sf.path] = true
	}
	err := filepath.WalkDir(s.seriesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".rrd") {
			return nil
		}
		if opened[path] {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("cannot open series file: %w", err)
		}
		h, herr := checkFile(f)
		if herr == nil && seriesPath(s.seriesDir, h.Key) != path {
			herr = fmt.Errorf("file name does not match key %q: %w", h.Key, errCorrupt)
		}
		_ = f.Close()
		if herr != nil {
			aside := fmt.Sprintf("%s.corrupt-%d", path, time.Now().Unix())
			s.log.Error("series file is corrupt; moved aside, the series starts anew", "file", path, "moved_to", aside, "err", herr)
			if err := os.Rename(path, aside); err != nil {
				return fmt.Errorf("cannot move corrupt series file aside: %w", err)
			}
			return nil
		}
		s.addIndex(&h)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot scan series files: %w", err)
	}
	return nil
}
