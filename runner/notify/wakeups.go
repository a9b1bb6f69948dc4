package notify

import (
	"sync"
	"time"
)

// leaseRetry is how soon a node tries again to take a queue with a due
// delivery whose lease another node holds (or when its own workers are all
// busy): one compare-and-swap, no scan.
const leaseRetry = 100 * time.Millisecond

// wakeups is the earliest due time (Unix ms) this node knows of per
// receiver queue: what it queued itself (a dispatched step, a retry, a
// repeat, a group waiting for its interval) and what its last scan saw.
// The delivery loop sleeps until the earliest of them, so a delivery goes
// out when it is due rather than at the next scan.
type wakeups struct {
	mu  sync.Mutex
	due map[queueRef]int64
}

// add notes that q has a delivery due at dueMillis.
func (w *wakeups) add(q queueRef, dueMillis int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.due == nil {
		w.due = map[queueRef]int64{}
	}
	if cur, ok := w.due[q]; !ok || dueMillis < cur {
		w.due[q] = dueMillis
	}
}

// take removes and returns the queues due by nowMillis, and returns the
// earliest due time left (0: none).
func (w *wakeups) take(nowMillis int64) (due []queueRef, next int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for q, at := range w.due {
		if at <= nowMillis {
			due = append(due, q)
			delete(w.due, q)
		} else if next == 0 || at < next {
			next = at
		}
	}
	return due, next
}

// earliest is the earliest due time noted (0: none).
func (w *wakeups) earliest() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	next := int64(0)
	for _, at := range w.due {
		if next == 0 || at < next {
			next = at
		}
	}
	return next
}

// schedule notes that q has a delivery due at due and wakes the delivery
// loop to set its timer.
func (n *Notifier) schedule(q queueRef, due time.Time) {
	n.soon.add(q, due.UnixMilli())
	n.poke()
}
