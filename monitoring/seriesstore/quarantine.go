package seriesstore

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// quarantine drops a series whose header rotted while the store ran: the
// slot is copied aside (never overwritten), freed, and the key forgotten,
// so the next point starts the series anew.
func (s *Store) quarantine(e *series, cause error) {
	aside := s.setAside(e.cls, e.ref)
	s.log.Error("series header is corrupt; slot copied aside, the series starts anew", "series", e.key, "copied_to", aside, "err", cause)
	e.cls.release(e.ref)
	delete(s.index, e.key)
	s.byHash.remove(e.key)
	s.deferredN -= e.samples.n
	s.takenN -= e.applying.n
	s.chunks.put(&e.samples)
	s.chunks.put(&e.applying)
	e.gone = true
	s.sorted = nil
}

// setAside copies slot r to <dir>/corrupt/<size>-<segment>-<slot>.corrupt-<time>
// and returns that path ("" when it could not, which it logs).
func (s *Store) setAside(c *class, r slotRef) string {
	dir := filepath.Join(s.opts.Dir, "corrupt")
	path := filepath.Join(dir, fmt.Sprintf("%d-%d-%d.corrupt-%d", c.size, r.seg, r.idx, time.Now().UnixNano()))
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = os.WriteFile(path, c.slot(r), 0o600)
	}
	if err != nil {
		s.log.Error("cannot copy a corrupt slot aside", "file", path, "err", err)
		return ""
	}
	return path
}
