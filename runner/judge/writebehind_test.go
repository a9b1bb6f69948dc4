package judge_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/runner/judge"
)

// The write-behind cache: a batch whose points decide no event is held
// (its state not stored yet) until a flush; a flush whose write lost to
// another writer requeues the held batches, which are judged again from
// the stored record; a stopping judge flushes what it holds.
func TestWriteBehindHoldsBatchesUntilTheirStatesAreStored(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	quiet := webCPU
	quiet.RightValue = 1e18 // never fires: every batch stays on the cached path
	e.putStrategy(st, quiet)
	set := metrics.NewSet()
	_, stop := e.startJudgeWith(st, "j1", 1, func(o *judge.Options) {
		o.FlushInterval, o.MsgTimeout = 10*time.Minute, 14*time.Minute // flushes only when 4 batches wait
		o.MaxInFlight, o.Metrics = 8, set
	})
	judged := func(n uint64) {
		t.Helper()
		testenv.Eventually(t, 40*time.Second, func() error {
			if got := set.GetOrCreateCounter("wharf_judge_points_total").Get(); got < n {
				return fmt.Errorf("%d of %d points judged", got, n)
			}
			return nil
		})
	}
	ctx := context.Background()
	e.push(0, cpu(0, 10))
	judged(1)
	if _, err := judge.ReadState(ctx, st, webCPUID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state of a held batch: %v, want not stored before the flush", err)
	}
	// Another writer (a judge that took the shard) stores the record now:
	// the flush loses its compare-and-swap and the batches come again.
	if _, err := st.Put(ctx, judge.StatePrefix+webCPUID, []byte("not a record"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for ts := int64(60); ts <= 180; ts += 60 {
		e.push(0, cpu(ts, 10))
	}
	// The four come again: the first is judged from the stored record
	// (undecodable: dropped) and stored at once; the other three are held
	// again, and one more batch makes four held, which flushes them.
	judged(8) // four first deliveries, four again
	e.push(0, cpu(240, 10))
	e.judged(st, webCPUID, 240)
	s, err := judge.ReadState(ctx, st, webCPUID)
	if err != nil {
		t.Fatal(err)
	}
	var times []int64
	for _, p := range s.Points {
		times = append(times, p.T)
	}
	if !slices.Equal(times, []int64{60, 120, 180, 240}) {
		t.Fatalf("window %v after the requeued batches, want the points at 60, 120, 180, 240", s.Points)
	}
	before := set.GetOrCreateCounter("wharf_judge_points_total").Get()
	e.push(0, cpu(300, 10))
	judged(before + 1)
	if s, _ := judge.ReadState(ctx, st, webCPUID); s.Points[len(s.Points)-1].T == 300 {
		t.Fatal("a single held batch was stored before a flush")
	}
	stop()
	e.judged(st, webCPUID, 300) // the stopping judge flushed it
}
