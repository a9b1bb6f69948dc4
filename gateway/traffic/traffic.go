// Package traffic counts the gateway's requests per service version, so a
// deploy's health gate can read the new version's error rate as every
// gateway node saw it.
//
// Each node counts, per (service, version), the requests it proxied to
// instances registered with that version and how many failed (a 5xx answer
// or no answer). Every second it writes the second's counts to the store
// under
//
//	<Prefix><service>/<version>/<unix second, 12 digits>/<node>
//
// with a TTL (DefaultTTL), and a Reader sums the entries of a time window
// across nodes.
package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/internal/store"
)

// Defaults.
const (
	DefaultPrefix = "gateway/traffic/"
	// DefaultTTL is how long a second's counts stay readable.
	DefaultTTL       = 15 * time.Minute
	DefaultOpTimeout = 2 * time.Second
)

// Counter counts one (service, version)'s requests on this node. Its
// methods are safe for concurrent use and do not allocate.
type Counter struct {
	requests, errors atomic.Int64
}

// Observe counts one request; failed is a 5xx answer or no answer.
func (c *Counter) Observe(failed bool) {
	c.requests.Add(1)
	if failed {
		c.errors.Add(1)
	}
}

// Counts is one entry: requests and failed requests.
type Counts struct {
	Requests int64 `json:"n"`
	Errors   int64 `json:"e"`
}

// Recorder holds this node's counters and writes them to the store.
type Recorder struct {
	st     store.Store
	node   string
	prefix string
	ttl    time.Duration
	log    *slog.Logger

	mu       sync.Mutex
	counters map[key]*Counter
}

type key struct{ service, version string }

// NewRecorder returns a Recorder for node (a name unique among the
// gateway nodes) writing to st.
func NewRecorder(st store.Store, node string, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{st: st, node: node, prefix: DefaultPrefix, ttl: DefaultTTL, log: log, counters: map[key]*Counter{}}
}

// Counter returns the counter of a service's version, the same one for the
// life of the Recorder.
func (r *Recorder) Counter(service, version string) *Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := key{service, version}
	c, ok := r.counters[k]
	if !ok {
		c = &Counter{}
		r.counters[k] = c
	}
	return c
}

// Run flushes the counts every second until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.Flush(ctx, now)
		}
	}
}

// Flush writes the counts since the last flush as the second of now.
func (r *Recorder) Flush(ctx context.Context, now time.Time) {
	r.mu.Lock()
	type entry struct {
		k key
		c Counts
	}
	var out []entry
	for k, c := range r.counters {
		n := c.requests.Swap(0)
		e := c.errors.Swap(0)
		if n > 0 || e > 0 {
			out = append(out, entry{k, Counts{Requests: n, Errors: e}})
		}
	}
	r.mu.Unlock()
	for _, e := range out {
		b, _ := json.Marshal(e.c) // plain data: cannot fail
		cctx, cancel := context.WithTimeout(ctx, DefaultOpTimeout)
		_, err := r.st.Put(cctx, Key(r.prefix, e.k.service, e.k.version, now, r.node), b, store.PutOptions{TTL: r.ttl})
		cancel()
		if err != nil {
			r.log.Warn("cannot record version traffic", "service", e.k.service, "version", e.k.version, "err", err)
		}
	}
}

// Key is the store key of one node's counts of one second.
func Key(prefix, service, version string, at time.Time, node string) string {
	return fmt.Sprintf("%s%s/%s/%012d/%s", prefix, service, version, at.Unix(), node)
}

// Reader sums counts from the store.
type Reader struct {
	st     store.Store
	prefix string
}

// NewReader returns a Reader over st.
func NewReader(st store.Store) *Reader { return &Reader{st: st, prefix: DefaultPrefix} }

// Sum adds up every node's counts of a service's version for the seconds
// in [from, to).
func (r *Reader) Sum(ctx context.Context, service, version string, from, to time.Time) (Counts, error) {
	var total Counts
	prefix := r.prefix + service + "/" + version + "/"
	after := Key(r.prefix, service, version, from.Add(-time.Second), "~") // sorts after every node of the second before
	lo, hi := from.Unix(), to.Unix()
	for e, err := range store.Entries(ctx, r.st, prefix, store.ScanOptions{After: after}) {
		if err != nil {
			return Counts{}, fmt.Errorf("cannot read version traffic of %s %s: %w", service, version, err)
		}
		sec, _, _ := strings.Cut(strings.TrimPrefix(e.Key, prefix), "/")
		at, err := strconv.ParseInt(sec, 10, 64)
		if err != nil || at < lo {
			continue
		}
		if at >= hi {
			break
		}
		var c Counts
		if json.Unmarshal(e.Value, &c) == nil {
			total.Requests += c.Requests
			total.Errors += c.Errors
		}
	}
	return total, nil
}
