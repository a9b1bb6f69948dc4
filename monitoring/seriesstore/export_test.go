package seriesstore

// Abandon drops the store as a crash would: files are closed with nothing
// more written (no checkpoint, no header write-back) and the lock released.
func (s *Store) Abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeFiles()
	s.closed = ErrClosed
	_ = s.lock.Close()
	s.lock = nil
}

// SeriesPath is where the series of key lives under dir.
func SeriesPath(dir, key string) string { return seriesPath(dir+"/series", key) }
