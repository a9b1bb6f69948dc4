package monitor_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// TestConcurrentPushesSplitIntoBatches: concurrent pushes of 2,500 points
// each to one shard arrive complete on the judge topic, in messages of at
// most 4,000 points (the chunks of several pushes joined), in the batch
// format asked for (binary by default).
func TestConcurrentPushesSplitIntoBatches(t *testing.T) {
	for name, format := range map[string]metric.BatchFormat{"binary": metric.BatchBinary, "json": metric.BatchJSON} {
		t.Run(name, func(t *testing.T) { testConcurrentPushesSplitIntoBatches(t, format) })
	}
}

func testConcurrentPushesSplitIntoBatches(t *testing.T, format metric.BatchFormat) {
	s := newServer(t, serverOptions{fn: monitor.Options{Shards: 1, BatchFormat: format}, noSeries: true})
	head := map[metric.BatchFormat]string{metric.BatchBinary: "\xffWB\x02", metric.BatchJSON: `{"v":1,"points":[`}[format]
	var mu sync.Mutex
	seen := map[string]bool{}
	messages, biggest := 0, 0
	s.consume(t, wire.JudgeTopic(0), func(_ context.Context, m *bus.Message) error {
		if !strings.HasPrefix(string(m.Body), head) {
			t.Errorf("a %s batch starts with %q", format, m.Body[:min(len(m.Body), 8)])
		}
		ps, err := metric.DecodeBatch(m.Body)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		messages++
		biggest = max(biggest, len(ps))
		for _, p := range ps {
			seen[p.PK()] = true
		}
		return nil
	})

	const pushes, per = 4, 2500
	now := time.Now().Unix()
	var wg sync.WaitGroup
	errs := make(chan error, pushes)
	for p := range pushes {
		var items []string
		for i := range per {
			items = append(items, item(fmt.Sprintf("h%d", p), fmt.Sprintf("m%d", i), now, 60, i, "GAUGE", ""))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := s.do(t, "POST", "/v1/push", "ingest", array(items...)); r.Status != 200 {
				errs <- fmt.Errorf("push %d: %d %s", p, r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != pushes*per {
			return fmt.Errorf("%d of %d points", len(seen), pushes*per)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if biggest > 4000 || messages < pushes*per/4000 {
		t.Fatalf("%d messages, the biggest of %d points; want at most 4000 points each", messages, biggest)
	}
}
