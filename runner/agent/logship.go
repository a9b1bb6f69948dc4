package agent

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/runner/agent/supervise"
)

// logShipper takes the output lines of the apps' processes (from their
// supervise.LineFunc) into a bounded queue and ships them in batches to
// POST /api/v1/agents/hosts/{id}/logs. An app never waits for it: a line
// that finds the queue full, or whose batch cannot be sent, is dropped
// and counted (per app, reported with the next batch, and in
// wharf_agent_log_lines_dropped_total).
type logShipper struct {
	queue   chan wire.LogBatchLine
	dropped *metrics.Counter
	shipped *metrics.Counter

	mu   sync.Mutex
	lost map[string]uint64 // app → lines dropped since the last batch
}

func newLogShipper(buffer int, set *metrics.Set) *logShipper {
	return &logShipper{
		queue:   make(chan wire.LogBatchLine, buffer),
		dropped: set.GetOrCreateCounter("wharf_agent_log_lines_dropped_total"),
		shipped: set.GetOrCreateCounter("wharf_agent_log_lines_shipped_total"),
		lost:    map[string]uint64{},
	}
}

// lineFunc is the supervise.LineFunc of one process of app.
func (s *logShipper) lineFunc(app, instance, process string) supervise.LineFunc {
	return func(stream string, line []byte) {
		l := wire.LogBatchLine{App: app, LogLine: wire.LogLine{
			At: time.Now().UTC(), Instance: instance, Process: process, Stream: stream,
			// Replacing invalid bytes may lengthen the line: cut it again.
			Text: wire.Clip(strings.ToValidUTF8(string(line), "\uFFFD"), wire.MaxLogLineBytes),
		}}
		select {
		case s.queue <- l:
		default:
			s.lose(app, 1)
		}
	}
}

func (s *logShipper) lose(app string, n uint64) {
	s.mu.Lock()
	s.lost[app] += n
	s.mu.Unlock()
	s.dropped.Add(int(n))
}

// takeLost returns and resets the per-app drop counts.
func (s *logShipper) takeLost() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lost) == 0 {
		return nil
	}
	l := s.lost
	s.lost = map[string]uint64{}
	return l
}

// shipLogs sends the queued lines every LogShipEvery, or at once when a
// batch is full, until ctx ends; then it sends what is queued once more.
func (a *Agent) shipLogs(ctx context.Context) {
	defer a.loops.Done()
	t := time.NewTicker(a.opts.LogShipEvery)
	defer t.Stop()
	batch := make([]wire.LogBatchLine, 0, wire.MaxLogBatch)
	failing := false
	send := func() {
		lost := a.logs.takeLost()
		if len(batch) == 0 && lost == nil {
			return
		}
		cctx, cancel := a.apiCtx()
		err := a.opts.API.Do(cctx, http.MethodPost, wire.HostPath+url.PathEscape(a.opts.HostID)+wire.LogShipPath,
			wire.LogBatch{Lines: batch, Lost: lost}, nil)
		cancel()
		switch {
		case err != nil:
			if !failing {
				a.log.Warn("cannot ship app logs; dropping them until it works again", "lines", len(batch), "err", err)
				failing = true
			}
			for app, n := range lost {
				a.logs.lose(app, n)
			}
			for _, l := range batch {
				a.logs.lose(l.App, 1)
			}
		default:
			if failing {
				a.log.Info("app logs shipped again")
				failing = false
			}
			a.logs.shipped.Add(len(batch))
		}
		clear(batch)
		batch = batch[:0]
	}
	for {
		select {
		case <-ctx.Done():
			// What is queued goes out once more (bounded by the API
			// timeout); lines after this are not shipped.
			for len(batch) < wire.MaxLogBatch && len(a.logs.queue) > 0 {
				batch = append(batch, <-a.logs.queue)
			}
			send()
			return
		case l := <-a.logs.queue:
			batch = append(batch, l)
			if len(batch) == wire.MaxLogBatch {
				send()
			}
		case <-t.C:
			send()
		}
	}
}
