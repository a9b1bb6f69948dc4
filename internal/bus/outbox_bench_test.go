package bus

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/internal/testenv"
)

// BenchmarkOutboxEnqueue measures Enqueue into a file-backed outbox that
// publishes to a real nsqd in the background; "fsync" syncs every Enqueue
// (the default), "everysecond" uses SyncEverySecond.
func BenchmarkOutboxEnqueue(b *testing.B) {
	n := testenv.StartNSQD(b)
	for _, bc := range []struct {
		name        string
		everySecond bool
	}{{"fsync", false}, {"everysecond", true}} {
		b.Run(bc.name, func(b *testing.B) {
			p := newTestProducer(b, n.Addr)
			o, err := NewOutbox(OutboxOptions{
				Path: filepath.Join(b.TempDir(), "outbox.db"), Producer: p, SyncEverySecond: bc.everySecond,
			})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			body := make([]byte, 256)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			for b.Loop() {
				if err := o.Enqueue(ctx, "bench-outbox", body); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if err := o.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
