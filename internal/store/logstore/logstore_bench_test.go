package logstore_test

import (
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/store/logstore"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

// BenchmarkCompareAndSwapMany is buntstore's benchmark of the same name on
// the log store: 100,000 states of 200 bytes (the judge's 100,000
// series), 1,000 of them written per call, going round.
func BenchmarkCompareAndSwapMany(b *testing.B) {
	s, err := logstore.Open(logstore.Options{Path: filepath.Join(b.TempDir(), "bench.log")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	storetest.BenchSwapMany(b, s)
}
