package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/ident"
)

// ErrBadTask is wrapped by DecodeTask's errors.
var ErrBadTask = errors.New("invalid task")

// MaxTaskSize bounds a task message.
const MaxTaskSize = 64 << 10

// DecodeTask parses and checks a task message: one JSON object (unknown
// fields are ignored so that a newer deploy function may add some;
// trailing data is not), with a deploy id of 1-128 bytes, a positive task
// id, a host, a kind of deploy or rollback, an app name as bundles name
// them, a version as release accepts it and a sha256 of 64 hex digits. On
// a validation error it returns the decoded task along with the error, so
// that the caller can report the failure for that task id.
func DecodeTask(b []byte) (wire.Task, error) {
	var t wire.Task
	if len(b) > MaxTaskSize {
		return t, fmt.Errorf("cannot decode task: %w: larger than %d bytes", ErrBadTask, MaxTaskSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&t); err != nil {
		return wire.Task{}, fmt.Errorf("cannot decode task: %w: %w", ErrBadTask, err)
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return wire.Task{}, fmt.Errorf("cannot decode task: %w: trailing data after the JSON value", ErrBadTask)
	}
	return t, checkTask(t)
}

// checkTask checks a task's fields (see DecodeTask).
func checkTask(t wire.Task) error {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if t.DeployID == "" || len(t.DeployID) > 128 {
		bad("deploy_id must be 1-128 bytes")
	}
	if t.TaskID < 1 {
		bad("task_id must be positive, got %d", t.TaskID)
	}
	if t.Host == "" || len(t.Host) > 128 {
		bad("host must be 1-128 bytes")
	}
	if t.Kind != wire.TaskDeploy && t.Kind != wire.TaskRollback {
		bad("kind must be deploy or rollback, got %q", t.Kind)
	}
	if !validApp(t.App) {
		bad("app must be 1-63 of a-z, 0-9 and '-', starting with a letter, got %q", t.App)
	}
	if !ident.Version(t.Version) {
		bad("version %q is not valid", t.Version)
	}
	if !validSHA256(t.SHA256) {
		bad("sha256 must be 64 hex digits, got %q", t.SHA256)
	}
	if len(probs) > 0 {
		return fmt.Errorf("cannot accept task: %w: %s", ErrBadTask, strings.Join(probs, "; "))
	}
	return nil
}

func validApp(s string) bool {
	ok := s != "" && len(s) <= 63 && s[0] >= 'a' && s[0] <= 'z'
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	return ok
}

func validSHA256(s string) bool {
	ok := len(s) == 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	return ok
}

// handle is the NSQ handler: it verifies the message (see verify; a
// refused one is logged, counted and dropped), then accepts the task into
// the durable queue and returns, finishing the message. Only a failure to
// save the state file requeues the message.
func (a *Agent) handle(ctx context.Context, m *bus.Message) error {
	t, err := a.verify(ctx, m.Body)
	var r *refusal
	if errors.As(err, &r) {
		a.refused(r, t, m.ID)
		return nil
	}
	if err != nil {
		return err
	}
	if err := checkTask(t); err != nil {
		a.log.Warn("dropping invalid task", "err", err, "nsq_id", m.ID)
		if t.DeployID != "" && len(t.DeployID) <= 128 && t.TaskID > 0 {
			a.reject(t, err.Error())
		}
		return nil
	}
	return a.accept(t)
}

// reject reports an invalid task failed, once.
func (a *Agent) reject(t wire.Task, msg string) {
	a.mu.Lock()
	if f := a.findFinished(t.DeployID, t.TaskID); f != nil {
		last := f.Last
		a.mu.Unlock()
		a.emit(last)
		return
	}
	a.mu.Unlock()
	ev := a.event(t, wire.PhaseFailed, msg, 0, "")
	a.emit(ev)
	a.mu.Lock()
	a.markFinished(t, ev)
	a.mu.Unlock()
	a.saveOrLog()
}

// accept queues a task unless it was seen: a finished task gets its last
// event again, a queued one nothing, a superseded one nothing.
func (a *Agent) accept(t wire.Task) error {
	log := a.log.With("app", t.App, "deploy", t.DeployID, "task", t.TaskID, "kind", t.Kind, "version", t.Version)
	a.mu.Lock()
	if f := a.findFinished(t.DeployID, t.TaskID); f != nil {
		last := f.Last
		a.mu.Unlock()
		log.Info("task already finished, sending its last event again", "state", last.State)
		a.emit(last)
		return nil
	}
	if i := a.findQueued(t.DeployID, t.TaskID); i >= 0 {
		last := a.st.Queue[i].Last
		a.mu.Unlock()
		log.Info("task already queued")
		if last != nil && t.Resend {
			a.emit(*last)
		}
		return nil
	}
	if a.superseded(t) {
		a.mu.Unlock()
		log.Info("ignoring a task superseded by a newer task of the same deploy")
		return nil
	}
	a.st.Queue = append(a.st.Queue, queuedTask{Task: t, ReceivedAt: a.opts.Now()})
	a.mu.Unlock()
	if err := a.save(); err != nil {
		a.mu.Lock()
		if i := a.findQueued(t.DeployID, t.TaskID); i >= 0 {
			a.st.Queue = append(a.st.Queue[:i], a.st.Queue[i+1:]...)
		}
		a.mu.Unlock()
		return fmt.Errorf("cannot queue task: %w", err)
	}
	log.Info("task queued")
	a.kick(t.App)
	return nil
}

// kick makes sure a worker runs app's queue.
func (a *Agent) kick(app string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ar := a.app(app)
	if ar.working || a.stopping || a.runCtx == nil {
		return
	}
	ar.working = true
	a.workers.Add(1)
	go a.work(app)
}

// work runs app's restore (after an agent restart) and then its queued
// tasks, one at a time, until the queue has none left or Run ends.
func (a *Agent) work(app string) {
	defer a.workers.Done()
	ctx := a.runCtx
	a.mu.Lock()
	restore := a.apps[app].restore
	a.apps[app].restore = false
	a.mu.Unlock()
	if restore {
		a.restoreApp(ctx, app)
	}
	for {
		q, ok := a.next(ctx, app)
		if !ok {
			return
		}
		a.runTask(ctx, q)
		if ctx.Err() == nil {
			a.pruneConfig(app)
		}
	}
}

// next takes app's next task off the queue (it stays there, counted as
// started, until it finishes) or, when there is none or Run is ending,
// marks the worker gone.
func (a *Agent) next(ctx context.Context, app string) (queuedTask, bool) {
	a.mu.Lock()
	ar := a.apps[app]
	for ctx.Err() == nil && !a.stopping {
		i := -1
		for j, q := range a.st.Queue {
			if q.Task.App == app {
				i = j
				break
			}
		}
		if i < 0 {
			break
		}
		q := &a.st.Queue[i]
		if a.superseded(q.Task) {
			a.log.Info("dropping a queued task superseded by a newer one", "app", app, "deploy", q.Task.DeployID, "task", q.Task.TaskID)
			a.st.Queue = append(a.st.Queue[:i], a.st.Queue[i+1:]...)
			continue
		}
		q.Attempts++
		t := q.Task
		ar.busy = &t
		out := *q
		a.mu.Unlock()
		a.saveOrLog()
		a.kickHeartbeat()
		return out, true
	}
	ar.working, ar.busy = false, nil
	a.mu.Unlock()
	return queuedTask{}, false
}

// finishTask records a task's final event (already emitted) as finished.
func (a *Agent) finishTask(t wire.Task, last wire.Event) {
	a.mu.Lock()
	a.markFinished(t, last)
	if ar := a.apps[t.App]; ar != nil {
		ar.busy = nil
	}
	a.mu.Unlock()
	a.saveOrLog()
	a.kickHeartbeat()
}
