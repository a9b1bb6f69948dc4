package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// delivery is one (alert, status) of the bench: bench_id label and
// "firing" or "resolved".
type delivery struct {
	id, status string
}

// receipt is what the receiver saw of one delivery in 2xx answers.
type receipt struct {
	count       int
	first, last time.Time
}

// hook is the webhook receiver of both systems (path /hook/<system>): it
// answers a fraction of the calls 500 (chosen at random) and counts, in the
// calls it answered 200, every alert of the payload (version 4) by its
// bench_id label and status.
type hook struct {
	failRate float64

	mu       sync.Mutex
	rng      *rand.Rand
	calls    map[string]int // per system, every call
	failed   map[string]int // per system, answered 500
	bad      map[string]int // per system, undecodable bodies
	receipts map[delivery]*receipt
}

func newHook(failRate float64, seed uint64) *hook {
	return &hook{failRate: failRate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		calls: map[string]int{}, failed: map[string]int{}, bad: map[string]int{}, receipts: map[delivery]*receipt{}}
}

// payload is the part of Alertmanager's webhook payload v4 the bench reads.
type payload struct {
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	system := strings.TrimPrefix(r.URL.Path, "/hook/")
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls[system]++
	var p payload
	if err != nil || json.Unmarshal(body, &p) != nil {
		h.bad[system]++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if h.rng.Float64() < h.failRate {
		h.failed[system]++
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for _, a := range p.Alerts {
		d := delivery{id: a.Labels["bench_id"], status: a.Status}
		rc := h.receipts[d]
		if rc == nil {
			rc = &receipt{first: now}
			h.receipts[d] = rc
		}
		rc.count++
		rc.last = now
	}
	w.WriteHeader(http.StatusOK)
}

// missing counts the deliveries of want not received yet.
func (h *hook) missing(want map[delivery]time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for d := range want {
		if h.receipts[d] == nil {
			n++
		}
	}
	return n
}

// callCounts returns the calls, the 500s and the undecodable bodies so far
// of one system.
func (h *hook) callCounts(system string) (calls, failed, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[system], h.failed[system], h.bad[system]
}

// tally is what the receiver got of one round's deliveries.
type tally struct {
	received, dups, lost, unexpected int
	// firingOnly counts the losses that are firings whose resolution
	// arrived (Wharf records a retried firing whose resolution went out
	// first as superseded and does not send it).
	firingOnly int
	// late counts the alerts whose (last) firing arrived after their
	// resolution had: the receiver was told "firing" last.
	late int
	lat  []time.Duration
}

// tally counts, for the deliveries of want (posted at the given times):
// received, duplicates (receipts beyond the first), losses (never
// received), firings after the resolution and the latencies from post
// to the first receipt; and the receipts of deliveries with the prefix
// that were never posted.
func (h *hook) tally(want map[delivery]time.Time, prefix string) tally {
	h.mu.Lock()
	defer h.mu.Unlock()
	var t tally
	for d, posted := range want {
		rc := h.receipts[d]
		if rc == nil {
			t.lost++
			if d.status == "firing" && h.receipts[delivery{id: d.id, status: "resolved"}] != nil {
				t.firingOnly++
			}
			continue
		}
		t.received++
		t.dups += rc.count - 1
		t.lat = append(t.lat, rc.first.Sub(posted))
		if d.status == "resolved" {
			if f := h.receipts[delivery{id: d.id, status: "firing"}]; f != nil && f.last.After(rc.first) {
				t.late++
			}
		}
	}
	for d, rc := range h.receipts {
		if _, ok := want[d]; !ok && strings.HasPrefix(d.id, prefix) {
			t.unexpected += rc.count
		}
	}
	return t
}
