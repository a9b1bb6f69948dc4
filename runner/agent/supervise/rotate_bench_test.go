package supervise

import (
	"bytes"
	"path/filepath"
	"testing"
)

// BenchmarkRotatingWriterWrite measures Write of one 128-byte line into a
// rotating file (1 MiB limit, 3 kept, so a rotation every 8192 writes):
// "serial" from one goroutine, "parallel" from GOMAXPROCS goroutines as the
// stdout and stderr pumps of several children would.
func BenchmarkRotatingWriterWrite(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 127), '\n')
	newWriter := func(b *testing.B) *RotatingWriter {
		w, err := NewRotatingWriter(filepath.Join(b.TempDir(), "bench.log"), 1<<20, 3)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = w.Close() })
		return w
	}
	b.Run("serial", func(b *testing.B) {
		w := newWriter(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			if _, err := w.Write(line); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		w := newWriter(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(line)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := w.Write(line); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
