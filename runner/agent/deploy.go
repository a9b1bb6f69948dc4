package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/runner/agent/release"
)

// successPhase is the final state of a task that worked.
func successPhase(t wire.Task) wire.Phase {
	if t.Kind == wire.TaskRollback {
		return wire.PhaseRolledBack
	}
	return wire.PhaseHealthy
}

// source is where a release of app is downloaded from.
func (a *Agent) source(app, version string) release.Source {
	return apiSource{api: a.opts.API, path: artifactPath(app, version)}
}

// phaseClock measures the phases of a task.
type phaseClock struct{ at time.Time }

// lap returns the time since the last lap (or the start) and starts anew.
func (c *phaseClock) lap() time.Duration {
	now := time.Now()
	d := now.Sub(c.at)
	c.at = now
	return d
}

// runTask runs one task to its end — a final event and the task recorded
// as finished — or, when ctx ends first, aborts it: what it started is
// stopped and the task stays queued, to be resumed by the next run.
func (a *Agent) runTask(ctx context.Context, q queuedTask) {
	t := q.Task
	log := a.log.With("app", t.App, "deploy", t.DeployID, "task", t.TaskID, "kind", t.Kind, "version", t.Version)
	if q.Attempts > a.opts.MaxTaskAttempts {
		msg := fmt.Sprintf("agent restarted mid-task (started %d times)", q.Attempts-1)
		log.Error("giving up on a task", "msg", msg)
		a.finishTask(t, a.report(t, wire.PhaseFailed, msg, 0, ""))
		return
	}
	if q.Attempts > 1 {
		log.Info("resuming a task interrupted by an agent restart", "attempt", q.Attempts)
	}
	clock := phaseClock{at: time.Now()}
	a.report(t, wire.PhaseDownloading, fmt.Sprintf("installing %s %s", t.App, t.Version), 0, "")
	rel, err := a.rel.Install(ctx, t.App, t.Version, t.SHA256, a.source(t.App, t.Version))
	if err != nil {
		if ctx.Err() != nil {
			log.Info("task aborted: agent stopping", "phase", wire.PhaseDownloading)
			return
		}
		a.failTask(t, clock.lap(), &taskError{msg: installMsg(err)})
		return
	}
	msg := "release already on the host"
	if !rel.Skipped {
		d := rel.Durations
		msg = fmt.Sprintf("downloaded %d bytes (download %s, verify %s, unpack %s)", rel.Downloaded,
			d.Download.Round(time.Millisecond), d.Verify.Round(time.Millisecond), d.Unpack.Round(time.Millisecond))
	}
	a.report(t, wire.PhaseStarting, msg, clock.lap(), "")

	a.mu.Lock()
	ar := a.app(t.App)
	old, oldVersion := ar.cur, ar.version
	a.mu.Unlock()
	if old != nil && old.version == t.Version && old.sha == rel.SHA256 && old.running() {
		ev := a.report(t, successPhase(t), fmt.Sprintf("%s %s already running", t.App, t.Version), clock.lap(), "")
		a.finishTask(t, ev)
		return
	}
	g, err := a.startGen(ctx, rel, false)
	if err != nil {
		a.resetCurrent(t.App, oldVersion, t.Version)
		if ctx.Err() != nil {
			log.Info("task aborted: agent stopping", "phase", wire.PhaseStarting)
			return
		}
		var te *taskError
		if !errors.As(err, &te) {
			te = &taskError{msg: err.Error()}
		}
		a.failTask(t, clock.lap(), te)
		return
	}

	msg = fmt.Sprintf("%d instances healthy: %s", len(g.addrs()), strings.Join(g.addrs(), ", "))
	if old != nil {
		msg += fmt.Sprintf("; retiring %s", old.version)
	}
	ev := a.report(t, successPhase(t), msg, clock.lap(), "")
	a.mu.Lock()
	if oldVersion != "" && oldVersion != t.Version {
		ar.previous = oldVersion
	}
	ar.version, ar.sha, ar.cur = t.Version, rel.SHA256, g
	if old != nil {
		ar.retiring = append(ar.retiring, old)
	}
	a.st.Apps[t.App] = ar.record()
	a.markFinished(t, ev)
	ar.busy = nil
	a.mu.Unlock()
	a.saveOrLog()
	a.kickHeartbeat()
	if old != nil {
		a.retire(ctx, t.App, old)
	}
	a.prune(t.App)
}

// installMsg words an Install error for the event.
func installMsg(err error) string {
	switch {
	case errors.Is(err, release.ErrChecksum):
		return "sha256 mismatch, nothing unpacked: " + err.Error()
	case errors.Is(err, release.ErrBadBundle):
		return "bad bundle: " + err.Error()
	}
	return err.Error()
}

// failTask reports t failed and records it finished; the app keeps what
// it ran. Old releases are pruned.
func (a *Agent) failTask(t wire.Task, d time.Duration, te *taskError) {
	a.log.Warn("task failed", "app", t.App, "deploy", t.DeployID, "task", t.TaskID, "version", t.Version, "err", te.msg)
	a.finishTask(t, a.report(t, wire.PhaseFailed, te.msg, d, te.tail))
	a.prune(t.App)
}

// resetCurrent points app's current link back at version after a failed
// start of failed (no-op without a version to go back to).
func (a *Agent) resetCurrent(app, version, failed string) {
	if version == "" || version == failed {
		return
	}
	if _, err := a.rel.Activate(app, version); err != nil {
		a.log.Error("cannot set current back", "app", app, "version", version, "err", err)
	}
}

// retire deregisters old's instances, waits DrainDelay and stops its
// processes. When ctx ends during the wait, shutdown stops them instead.
func (a *Agent) retire(ctx context.Context, app string, old *gen) {
	if a.deregisterAll([]*gen{old}) > 0 {
		t := time.NewTimer(a.opts.DrainDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	a.stopGens([]*gen{old})
	a.mu.Lock()
	if ar := a.apps[app]; ar != nil {
		for i, g := range ar.retiring {
			if g == old {
				ar.retiring = append(ar.retiring[:i], ar.retiring[i+1:]...)
				break
			}
		}
	}
	a.mu.Unlock()
	a.log.Info("old release retired", "app", app, "version", old.version)
}

// prune removes app's old releases, keeping the current and previous ones.
func (a *Agent) prune(app string) {
	a.mu.Lock()
	var keep []string
	if ar := a.apps[app]; ar != nil {
		keep = append(keep, ar.version, ar.previous)
	}
	a.mu.Unlock()
	if _, err := a.rel.Prune(app, keep...); err != nil {
		a.log.Warn("cannot prune releases", "app", app, "err", err)
	}
}

// record is the state file's view of ar. a.mu held.
func (ar *appRun) record() appRecord {
	rec := appRecord{Version: ar.version, SHA256: ar.sha, Previous: ar.previous}
	if ar.cur != nil {
		for _, p := range ar.cur.procs {
			if p.web {
				rec.Instances = append(rec.Instances, instanceRecord{ID: p.id, Addr: p.addr})
			}
		}
	}
	return rec
}

// restoreApp starts the release app served before the agent restarted
// and registers it again. A failure is logged; the app then runs nothing
// until its next task.
func (a *Agent) restoreApp(ctx context.Context, app string) {
	a.mu.Lock()
	ar := a.app(app)
	version, sha := ar.version, ar.sha
	a.mu.Unlock()
	if version == "" {
		return
	}
	log := a.log.With("app", app, "version", version)
	rel, err := a.rel.Verify(app, version)
	if err != nil && validSHA256(sha) {
		log.Warn("release missing on restart, installing it again", "err", err)
		rel, err = a.rel.Install(ctx, app, version, sha, a.source(app, version))
	}
	if err != nil {
		log.Error("cannot restore app after restart", "err", err)
		return
	}
	g, err := a.startGen(ctx, rel, true)
	if err != nil {
		var te *taskError
		if errors.As(err, &te) && te.tail != "" {
			log.Error("cannot restore app after restart", "err", err, "log_tail", te.tail)
		} else {
			log.Error("cannot restore app after restart", "err", err)
		}
		return
	}
	a.mu.Lock()
	ar.cur = g
	a.st.Apps[app] = ar.record()
	a.mu.Unlock()
	a.saveOrLog()
	a.kickHeartbeat()
	log.Info("app restored after restart", "instances", g.addrs())
}
