package logstore

import "os"

// BreakFile makes the store's next writes fail: its file is reopened read
// only.
func BreakFile(s *Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.opts.Path)
	if err != nil {
		panic(err)
	}
	s.f = f
}
