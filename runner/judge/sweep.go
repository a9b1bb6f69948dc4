package judge

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/monitoring/event"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// A strategy edit or delete is resolved through the state records, not
// through the watch event that announced it: every record carries the
// judging fingerprint and the source of the strategy version it was
// judged under (record.FP, record.Source). A sweep compares them with the
// strategies now in force and, where they differ, closes the open
// problem with an OK (reason "resolved") through update — the same
// compare-and-swap with pending events as any judgement, so each close is
// decided once and handed to the outbox once, whichever judge does it and
// however often it is interrupted. A judge sweeps the states of a strategy
// when the watch reports it deleted or changed in a judging field, and
// every state of its shards when it takes shards (at start, on takeover)
// or reloads the strategies: changes made while no judge was watching, or
// while a judge died in the middle of a sweep, are resolved then.

// sweepRecordTimeout bounds the store calls of one record in a sweep; a
// record's close is finished even when the judge is stopping, so that a
// stop never leaves an event both enqueued and pending.
const sweepRecordTimeout = 10 * time.Second

// sweeper collects sweep requests until the tick loop runs them.
type sweeper struct {
	mu   sync.Mutex
	all  bool
	ids  map[string]bool
	wake chan struct{}
}

func newSweeper() sweeper {
	return sweeper{ids: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// request asks for a sweep of the states of strategy id ("": all states)
// now.
func (s *sweeper) request(id string) {
	s.later(id)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// later asks for a sweep at the next tick (a retry after a store error).
func (s *sweeper) later(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		s.all = true
	} else {
		s.ids[id] = true
	}
}

// take returns and clears the requests.
func (s *sweeper) take() (all bool, ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, s.all = s.all, false
	for id := range s.ids {
		ids = append(ids, id)
	}
	clear(s.ids)
	slices.Sort(ids)
	return all, ids
}

// rebalance runs balance and asks for a sweep of every state when it took
// shards this judge did not hold.
func (j *Judge) rebalance(ctx context.Context) {
	before := j.Owned()
	j.leases.Balance(ctx)
	for _, i := range j.Owned() {
		if !slices.Contains(before, i) {
			j.sweeps.request("")
			return
		}
	}
}

// sweep runs the requested sweeps.
func (j *Judge) sweep(ctx context.Context) {
	all, ids := j.sweeps.take()
	if all || len(ids) > 0 {
		j.flushAll(ctx) // the sweep scans stored records: store the cached ones
	}
	type job struct{ prefix, id string } // id: what a retry requests
	jobs := []job{{StatePrefix, ""}}
	if !all {
		jobs = jobs[:0]
		for _, id := range ids {
			jobs = append(jobs, job{StatePrefix + event.PrefixStrategy + "_" + id + "_", id},
				job{StatePrefix + event.PrefixExpression + "_" + id + "_", id})
		}
	}
	for _, jb := range jobs {
		prefix := jb.prefix
		err := j.scan(ctx, prefix, func(key string, rec record) error {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !j.holds(rec.Shard) {
				return nil
			}
			cur := j.strat.get(stateStrategyID(key))
			if cur != nil && (rec.FP == cur.fp || rec.FP == 0) {
				return nil // judged by the strategy in force (or a record of before fingerprints)
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sweepRecordTimeout)
			defer cancel()
			return j.update(rctx, key, rec.Shard, func(st mjudge.State, _ *judged) (mjudge.State, []event.Event, bool) {
				// Reconciled to a fresh state: nothing to keep until points come.
				return st, nil, len(st.Points) > 0 || st.Last.Status != ""
			})
		})
		if err != nil && ctx.Err() == nil {
			j.log.Warn("cannot sweep judge states; the next sweep retries", "prefix", prefix, "err", err)
			j.sweeps.later(jb.id)
		}
	}
}

// stateStrategyID is the strategy ID of a state key:
// StatePrefix + <prefix> "_" <strategy id> "_" <32 hex digits>. Strategy
// IDs hold no '_' (strategy.Compile refuses it).
func stateStrategyID(key string) string {
	rest := strings.TrimPrefix(key, StatePrefix)
	_, rest, _ = strings.Cut(rest, "_")
	if i := strings.LastIndexByte(rest, '_'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// reconcile closes the open problem of a record judged under another
// version of its strategy than cur (nil: the strategy is gone) and returns
// the state to judge on with the closing events: a fresh state after a
// close, the record's own otherwise. ver 0 is a new record. A record of
// before fingerprints (FP 0) adopts cur as it is.
func (j *Judge) reconcile(key string, rec *record, ver uint64, cur *judged) (mjudge.State, []event.Event) {
	if ver == 0 || rec.FP == 0 || (cur != nil && rec.FP == cur.fp) {
		return rec.State, nil
	}
	if len(rec.Source) == 0 && !rec.State.Last.Open() {
		return mjudge.State{}, nil // judged afresh; no problem to close
	}
	old, err := compileSource(rec.Source)
	if err != nil {
		j.log.Warn("cannot read the strategy a judge state was judged under; starting it afresh", "key", key, "err", err)
		return mjudge.State{}, nil
	}
	_, evs := mjudge.Resolve(rec.State, old.Compiled, j.opts.Now())
	return mjudge.State{}, evs
}
