package seriesstore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The old layout: one file per series, series/<xx>/<32 hex>.rrd named by
// sha256(key), each holding exactly one slot's content (header and rows).
const (
	legacyDir     = "series"
	legacyDoneDir = "series.old" // renamed once every series is in a slot
)

// legacyPath is where the old layout kept the series of key.
func legacyPath(root, key string) string {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:16])
	return filepath.Join(root, name[:2], name+".rrd")
}

// importLegacy copies every series file of the old layout into a slot. A
// file that is not a sound series file (or was already set aside) moves to
// <dir>/corrupt/ so it outlives the old directory.
func (s *Store) importLegacy(root string) error {
	imported := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("cannot read series file: %w", err)
		}
		herr := fmt.Errorf("not a series file: %w", errCorrupt)
		var h header
		if strings.HasSuffix(path, ".rrd") {
			h, herr = decodeHeader(b[:min(len(b), headerSize)])
			if herr == nil && int64(len(b)) != seriesSize(&h.Spec) {
				herr = fmt.Errorf("size %d, want %d: %w", len(b), seriesSize(&h.Spec), errCorrupt)
			}
			if herr == nil && legacyPath(root, h.Key) != path {
				herr = fmt.Errorf("file name does not match key %q: %w", h.Key, errCorrupt)
			}
		}
		if herr != nil {
			return s.keepLegacyAside(path, herr)
		}
		c := s.class(slotSize(&h.Spec))
		ref, err := c.alloc()
		if err != nil {
			return err
		}
		slot := c.slot(ref)
		copy(slot, b)
		clear(slot[len(b):])
		c.touch(ref)
		s.addIndex(&h, c, ref)
		imported++
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot migrate series files: %w", err)
	}
	s.log.Info("migrating series files into segment slots", "series", imported)
	return nil
}

// keepLegacyAside moves a file of the old layout that cannot be imported
// to <dir>/corrupt/.
func (s *Store) keepLegacyAside(path string, cause error) error {
	dir := filepath.Join(s.opts.Dir, "corrupt")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create corrupt directory: %w", err)
	}
	name := filepath.Base(path)
	if !strings.Contains(name, ".corrupt-") {
		name = fmt.Sprintf("%s.corrupt-%d", name, time.Now().UnixNano())
	}
	aside := filepath.Join(dir, name)
	if err := os.Rename(path, aside); err != nil {
		return fmt.Errorf("cannot move corrupt series file aside: %w", err)
	}
	s.log.Error("series file is corrupt; moved aside, the series starts anew", "file", path, "moved_to", aside, "err", cause)
	return nil
}

// commitMigration makes the imported slots durable, then renames the old
// directory away: from then on the slots are the authority (a crash
// before this restarts the migration from the old files).
func (s *Store) commitMigration(legacy, migrated string) error {
	for _, c := range s.classes {
		for _, g := range c.segs {
			if err := g.sync(); err != nil {
				return err
			}
		}
		if len(c.segs) > 0 {
			if err := syncDir(c.dir); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{s.slotsDir, filepath.Join(s.opts.Dir, "corrupt")} {
		if err := syncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(legacy, migrated); err != nil {
		return fmt.Errorf("cannot retire the migrated series files: %w", err)
	}
	if err := syncDir(s.opts.Dir); err != nil {
		return err
	}
	s.log.Info("series files migrated into segment slots", "series", len(s.index))
	return nil
}
