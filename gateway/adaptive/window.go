package adaptive

import (
	"math"
	"time"
)

// The (and brpc's) constants.
const (
	windowLength    = int64(time.Second)
	minSamples      = 100
	maxSamples      = 200
	minLatencyAlpha = 0.1
	maxQPSAlpha     = 0.01
	maxExplore      = 0.3
	minExplore      = 0.06
	exploreStep     = 0.02
	remeasureRatio  = 0.9
)

// window is one sampling window.
type window struct {
	start    int64 // < 0: opens at the first sample
	succ     int
	failed   int
	succNs   float64
	failedNs float64
}

func (w *window) reset(now int64) { *w = window{start: now} }

// state is the limiter's estimate, guarded by Limiter.mu.
type state struct {
	w            window
	minLatency   float64 // ns; < 0 unset
	maxQPS       float64 // < 0 unset
	explore      float64
	remeasureAt  int64 // when the next re-measure starts
	resetLatency int64 // ≠ 0: re-measure started, samples ignored until then
	holding      bool  // the limit is held for a re-measure
	windows      uint64
	discarded    uint64
}

// sample adds one sampled response; l.mu is held. It is brpc's AddSample.
func (l *Limiter) sample(latency int64, failed bool, now int64) {
	st := &l.st
	if st.resetLatency != 0 {
		if now < st.resetLatency {
			return // requests admitted before the re-measure are draining
		}
		// Concurrency is down: measure no-load latency from scratch.
		st.minLatency = -1
		st.resetLatency = 0
		st.remeasureAt = l.nextRemeasure(now)
		l.resetWindow(now)
	}
	w := &st.w
	if w.start < 0 {
		w.start = now
	}
	if failed {
		w.failed++
		w.failedNs += float64(latency)
	} else {
		w.succ++
		w.succNs += float64(latency)
	}
	n, age := w.succ+w.failed, now-w.start
	if n < minSamples {
		if age >= windowLength {
			st.discarded++
			l.resetWindow(now)
		}
		return
	}
	if age < windowLength && n < maxSamples {
		return
	}
	if w.succ > 0 {
		l.update(now)
	} else {
		l.setLimit(l.limit.Load() / 2) // every sampled request failed
	}
	st.windows++
	l.resetWindow(now)
}

func (l *Limiter) resetWindow(now int64) {
	l.succ.Store(0)
	l.st.w.reset(now)
}

// update closes a window with successes; it is brpc's UpdateMaxConcurrency.
func (l *Limiter) update(now int64) {
	st, w := &l.st, &l.st.w
	avg := math.Ceil((w.failedNs*l.punish + w.succNs) / float64(w.succ))
	dur := max(now-w.start, 1)
	qps := float64(l.succ.Load()) * 1e9 / float64(dur)

	if st.minLatency <= 0 {
		st.minLatency = avg
	} else if avg < st.minLatency {
		st.minLatency = avg*minLatencyAlpha + st.minLatency*(1-minLatencyAlpha)
	}
	if qps >= st.maxQPS {
		st.maxQPS = qps
	} else {
		st.maxQPS = qps*maxQPSAlpha + st.maxQPS*(1-maxQPSAlpha)
	}

	noload := st.minLatency * st.maxQPS / 1e9 // requests in flight at no load
	if st.remeasureAt <= now {
		st.resetLatency = now + int64(2*avg)
		st.holding = true
		l.setLimit(int64(math.Ceil(noload * remeasureRatio)))
		return
	}
	st.holding = false
	if avg <= st.minLatency*(1+minExplore) || qps <= st.maxQPS/(1+minExplore) {
		st.explore = min(maxExplore, st.explore+exploreStep)
	} else {
		st.explore = max(minExplore, st.explore-exploreStep)
	}
	l.setLimit(int64(min(noload*(1+st.explore), maxLimit)))
}
