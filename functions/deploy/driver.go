package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
)

// Run drives the active deploys and consumes the agents' events until ctx
// ends. It stops in this order: the events consumer (handlers in progress
// finish), the store watch and the driver loop, then the leases this
// instance holds are deleted so that another instance takes over at once.
func (f *Function) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("cannot run the deploy function: already running")
	}
	var cons *bus.Consumer
	if len(f.opts.NSQDAddrs) > 0 || len(f.opts.LookupdHTTPAddrs) > 0 {
		c, err := bus.NewConsumer(bus.ConsumerOptions{
			Topic: wire.TopicEvents, Channel: wire.ChannelDeploy,
			NSQDAddrs: f.opts.NSQDAddrs, LookupdHTTPAddrs: f.opts.LookupdHTTPAddrs,
			Handler: func(ctx context.Context, m *bus.Message) error { return f.HandleEvent(ctx, m.Body) },
			Logger:  f.opts.Logger, Metrics: f.opts.Metrics, Security: f.opts.BusSecurity,
		})
		if err != nil {
			return fmt.Errorf("cannot run the deploy function: %w", err)
		}
		if err := c.Start(ctx); err != nil {
			_ = c.Stop() // its handler goroutines run from NewConsumer on
			return fmt.Errorf("cannot run the deploy function: %w", err)
		}
		cons = c
	}
	var wg sync.WaitGroup
	wctx, stopWatch := context.WithCancel(ctx)
	wg.Go(func() { f.watch(wctx) })
	wg.Go(func() { f.backfillPlacements(wctx) })
	f.log.Info("deploy driver started", "tick", f.opts.Tick, "lease_ttl", f.opts.LeaseTTL)

	t := time.NewTicker(f.opts.Tick)
	defer t.Stop()
	for ctx.Err() == nil {
		f.pass(ctx)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-f.kick:
		}
	}

	var err error
	if cons != nil {
		err = cons.Stop()
	}
	stopWatch()
	wg.Wait()
	f.releaseAll()
	f.log.Info("deploy driver stopped")
	return err
}

// watch pokes the driver whenever a record or an active key changes in
// the store, whoever wrote it; the tick is the fallback when the watch
// is down.
func (f *Function) watch(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		ch, err := f.st.Watch(ctx, watchPrefix, store.FromNow)
		if err != nil {
			f.log.Warn("cannot watch deploys, relying on the tick", "err", err)
		} else {
			backoff = 100 * time.Millisecond
			for ev := range ch {
				if ev.Err != nil {
					if !errors.Is(ev.Err, store.ErrClosed) {
						f.log.Warn("deploy watch ended", "err", ev.Err)
					}
					continue
				}
				if strings.HasPrefix(ev.Key, recordsPrefix) || strings.HasPrefix(ev.Key, activePrefix) {
					f.poke()
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// pass steps every active deploy whose lease this instance gets, and
// lets go of the leases of deploys that are no longer active.
func (f *Function) pass(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	actives, err := f.listActive(ctx)
	if err != nil {
		f.log.Warn("cannot list the active deploys", "err", err)
		return
	}
	ids := make(map[string]bool, len(actives))
	for _, a := range actives {
		ids[a.ID] = true
	}
	f.mu.Lock()
	var stale []string
	for id := range f.leases {
		if !ids[id] {
			stale = append(stale, id)
		}
	}
	f.mu.Unlock()
	for _, id := range stale {
		f.release(ctx, id)
	}
	if len(actives) == 0 {
		return
	}
	list, err := f.liveHosts(ctx)
	if err != nil {
		// Without heartbeats every target would look lost: wait.
		f.log.Warn("cannot list the hosts, not stepping deploys", "err", err)
		return
	}
	hosts := make(map[string]wire.Host, len(list))
	for _, h := range list {
		hosts[h.ID] = h
	}
	for _, a := range actives {
		if ctx.Err() != nil {
			return
		}
		if err := f.drive(ctx, a, hosts); err != nil {
			f.log.Warn("cannot drive a deploy", "app", a.App, "deploy", a.ID, "err", err)
		}
	}
}

// drive steps one active deploy under its lease: load, Step, write with
// compare-and-swap, then publish the tasks; a done deploy is finished.
func (f *Function) drive(ctx context.Context, a activeEntry, hosts map[string]wire.Host) error {
	if !f.acquire(ctx, a.ID) {
		return nil
	}
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		e, ok, err := f.get(ctx, RecordKey(a.App, a.ID))
		if err != nil {
			return err
		}
		if !ok {
			// Records are written before their active key; this one is
			// damaged or was deleted by hand.
			f.log.Error("active deploy without a record, deactivating it", "app", a.App, "deploy", a.ID)
			f.release(ctx, a.ID)
			return f.cad(ctx, ActiveKey(a.App), a.Version)
		}
		rec, err := plan.ParseRecord(e.Value)
		if err != nil {
			return err
		}
		if rec.Done() {
			return f.finish(ctx, rec)
		}
		now := f.opts.Now()
		acts := rec.Step(now, f.observe(ctx, rec, hosts, now))
		b, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("cannot encode deploy %s: %w", rec.ID, err)
		}
		if bytes.Equal(b, e.Value) {
			return nil
		}
		if _, err := f.cas(ctx, e.Key, e.Version, b, 0); err != nil {
			return store.AsConflict(err) // an event or an operator changed it: step it again
		}
		f.m.steps.Inc()
		f.publish(ctx, acts)
		if rec.Done() {
			return f.finish(ctx, rec)
		}
		return nil
	})
	if errors.Is(err, store.ErrContention) {
		return fmt.Errorf("cannot step deploy %s: %w", a.ID, err)
	}
	return err
}

// publish signs the tasks (see signTask) and sends them to their hosts'
// topics. A failure is logged:
// the record has the task as sent and Step sends it again after
// plan.ResendAfter.
func (f *Function) publish(ctx context.Context, acts []plan.Action) {
	refreshed := false
	for _, act := range acts {
		task, ok := act.(plan.SendTask)
		if !ok {
			continue
		}
		if !refreshed {
			f.refreshSigningKey(ctx)
			refreshed = true
		}
		body, err := f.signTask(ctx, task.Task)
		if err == nil {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.opts.PublishTimeout)
			topic := wire.HostTopic(task.Host)
			if f.opts.Outbox != nil {
				err = f.opts.Outbox.Enqueue(pctx, topic, body)
			} else {
				err = f.opts.Producer.Publish(pctx, topic, body)
			}
			cancel()
		}
		if err != nil {
			f.m.publishErrors.Inc()
			f.log.Warn("cannot publish a task, it is resent later", "deploy", task.DeployID, "host", task.Host,
				"task", task.TaskID, "kind", task.Kind, "err", err)
			continue
		}
		f.m.tasks.Inc()
		f.log.Debug("task sent", "deploy", task.DeployID, "host", task.Host, "task", task.TaskID,
			"kind", task.Kind, "version", task.Version, "resend", task.Resend)
	}
}

// finish does the bookkeeping of a deploy that is done, idempotently and
// in an order that can stop anywhere and be run again: the good releases
// (on success), the live versions, then the active key and the lease.
func (f *Function) finish(ctx context.Context, rec *plan.Record) error {
	if rec.State == plan.StateSucceeded {
		if err := f.recordGood(ctx, rec, f.opts.Now()); err != nil {
			return err
		}
	}
	if err := f.refreshLive(ctx, rec); err != nil {
		return err
	}
	a, ok, err := f.active(ctx, rec.App)
	if err != nil {
		return err
	}
	if ok && a.ID == rec.ID {
		if err := f.cad(ctx, ActiveKey(rec.App), a.Version); err != nil {
			return err
		}
		f.m.finished(rec.State, rec.Summary().Duration)
		f.log.Info("deploy done", "app", rec.App, "deploy", rec.ID, "version", rec.Version,
			"state", rec.State, "error", rec.Error, "took", rec.Summary().Duration)
	}
	f.release(ctx, rec.ID)
	return nil
}

// heldLease is a lease this instance holds: its store version and when
// it was last written (real clock).
type heldLease struct {
	ver     uint64
	renewed time.Time
}

// leaseValue is the value of deploy/lease/<id>.
type leaseValue struct {
	Owner string    `json:"owner"`
	At    time.Time `json:"at"`
}

// acquire takes or renews the lease on driving deploy id and reports
// whether this instance holds it. It writes the lease only when a third
// of LeaseTTL has passed since the last write.
func (f *Function) acquire(ctx context.Context, id string) bool {
	now := time.Now()
	f.mu.Lock()
	l, held := f.leases[id]
	f.mu.Unlock()
	if held && now.Sub(l.renewed) < f.opts.LeaseTTL/3 {
		return true
	}
	val, _ := json.Marshal(leaseValue{Owner: f.opts.Instance, At: now.UTC()})
	expect := uint64(0)
	if held {
		expect = l.ver
	}
	ver, err := f.cas(ctx, LeaseKey(id), expect, val, f.opts.LeaseTTL)
	if errors.Is(err, store.ErrNotFound) && held {
		// It lapsed: take it anew unless another instance did.
		ver, err = f.cas(ctx, LeaseKey(id), 0, val, f.opts.LeaseTTL)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		delete(f.leases, id)
		if held {
			f.log.Warn("lost the lease on a deploy", "deploy", id, "err", err)
		} else if !isConflict(err) {
			f.log.Warn("cannot take the lease on a deploy", "deploy", id, "err", err)
		}
		return false
	}
	if !held {
		f.m.leasesTaken.Inc()
		f.log.Info("took the lease on a deploy", "deploy", id)
	}
	f.leases[id] = heldLease{ver: ver, renewed: now}
	return true
}

// release deletes the lease on id if this instance holds it.
func (f *Function) release(ctx context.Context, id string) {
	f.mu.Lock()
	l, held := f.leases[id]
	delete(f.leases, id)
	f.mu.Unlock()
	if !held {
		return
	}
	if err := f.cad(context.WithoutCancel(ctx), LeaseKey(id), l.ver); err != nil {
		f.log.Warn("cannot release the lease on a deploy; it lapses by itself", "deploy", id, "err", err)
	}
}

// releaseAll lets go of every lease, at shutdown.
func (f *Function) releaseAll() {
	f.mu.Lock()
	ids := make([]string, 0, len(f.leases))
	for id := range f.leases {
		ids = append(ids, id)
	}
	f.mu.Unlock()
	for _, id := range ids {
		f.release(context.Background(), id)
	}
}
