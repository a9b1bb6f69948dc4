package deploy_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/bus"
)

// agent plays a host's agent: it heartbeats over HTTP and answers the
// tasks on its NSQ topic by publishing events to deploy.events.
type agent struct {
	e        *env
	id, room string
	// behave says how to answer a task: the phases to report, in order.
	behave func(wire.Task) []wire.Phase
	// hold, while open, delays the answers to deploy tasks of holdVersion.
	hold        chan struct{}
	holdVersion string

	mu sync.Mutex
	// key signs the agent's events; nil for an agent of the previous
	// release (upgrade sets one).
	key   ed25519.PrivateKey
	tasks []wire.Task
	apps  map[string]wire.AppState
	stop  context.CancelFunc
	done  chan struct{}
}

// healthy answers every task with phases out of order and repeated:
// starting, downloading, healthy, downloading, healthy.
func healthy(wire.Task) []wire.Phase {
	return []wire.Phase{wire.PhaseStarting, wire.PhaseDownloading, wire.PhaseHealthy, wire.PhaseDownloading, wire.PhaseHealthy}
}

// failing fails deploy tasks of version and answers the rest healthy.
func failing(version string) func(wire.Task) []wire.Phase {
	return func(t wire.Task) []wire.Phase {
		if t.Kind == wire.TaskDeploy && t.Version == version {
			return []wire.Phase{wire.PhaseDownloading, wire.PhaseFailed, wire.PhaseFailed}
		}
		return healthy(t)
	}
}

// startAgent starts an agent that heartbeats every 200ms, announcing its
// own event-signing key; with behave, it also answers its tasks with
// signed events (a silent agent heartbeats once and then stops).
func (e *env) startAgent(id, room string, behave func(wire.Task) []wire.Phase) *agent {
	e.t.Helper()
	return e.startAgentKeyed(id, room, behave, true)
}

// startAgentKeyed is startAgent; without keyed, the agent is one of the
// previous release: no key in its heartbeats, unsigned events.
func (e *env) startAgentKeyed(id, room string, behave func(wire.Task) []wire.Phase, keyed bool) *agent {
	e.t.Helper()
	a := &agent{e: e, id: id, room: room, behave: behave, apps: map[string]wire.AppState{}, done: make(chan struct{})}
	if keyed {
		_, a.key, _ = ed25519.GenerateKey(nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.heartbeat()
	if behave == nil {
		close(a.done)
		return a
	}
	c, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.HostTopic(id), Channel: wire.ChannelAgent, NSQDAddrs: []string{e.nsqd.Addr},
		Handler: a.handle, Logger: testLogger(e.t), StopTimeout: 5 * time.Second,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(a.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				a.heartbeat()
			}
		}
	}()
	e.t.Cleanup(func() {
		a.release()
		cancel()
		<-a.done
		_ = c.Stop()
	})
	return a
}

func (a *agent) heartbeat() {
	a.mu.Lock()
	h := wire.Host{ID: a.id, Room: a.room, Agent: "test", Apps: maps(a.apps)}
	if a.key != nil {
		h.PublicKey = a.key.Public().(ed25519.PublicKey)
	}
	a.mu.Unlock()
	b, _ := json.Marshal(h)
	req, _ := http.NewRequest("PUT", a.e.url+wire.HostPath+a.id, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+a.e.tok["agent"])
	res, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return // the test is ending
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		a.e.t.Errorf("heartbeat of %s: %d", a.id, res.StatusCode)
	}
}

func maps(m map[string]wire.AppState) map[string]wire.AppState {
	out := make(map[string]wire.AppState, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// upgrade gives the agent a key, announced in its next heartbeat.
func (a *agent) upgrade() {
	_, k, _ := ed25519.GenerateKey(nil)
	a.mu.Lock()
	a.key = k
	a.mu.Unlock()
}

// holdDeploys makes the agent sit on deploy tasks of version until
// release.
func (a *agent) holdDeploys(version string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hold, a.holdVersion = make(chan struct{}), version
}

func (a *agent) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hold != nil {
		close(a.hold)
		a.hold = nil
	}
}

func (a *agent) handle(ctx context.Context, m *bus.Message) error {
	var signed wire.SignedTask
	if err := json.Unmarshal(m.Body, &signed); err != nil {
		a.e.t.Errorf("agent %s: bad task %q: %v", a.id, m.Body, err)
		return nil
	}
	if pub := a.e.taskKey(signed.KeyID); !signed.Verify(pub) || signed.Task.Host != a.id ||
		time.Now().After(signed.ExpiresAt) || !signed.ExpiresAt.After(signed.IssuedAt) {
		a.e.t.Errorf("agent %s: task not signed for it by the key served at %s: %s", a.id, wire.TaskKeysPath, m.Body)
		return nil
	}
	task := signed.Task
	a.mu.Lock()
	a.tasks = append(a.tasks, task)
	hold := a.hold
	if task.Kind != wire.TaskDeploy || task.Version != a.holdVersion {
		hold = nil
	}
	a.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	phases := a.behave(task)
	if slices.Contains(phases, wire.PhaseHealthy) {
		a.mu.Lock()
		prev := a.apps[task.App].Version
		a.apps[task.App] = wire.AppState{Version: task.Version, Previous: prev, Healthy: true}
		a.mu.Unlock()
	}
	for _, p := range phases {
		ev := wire.Event{DeployID: task.DeployID, TaskID: task.TaskID, Host: a.id, State: p, At: time.Now(), Msg: "test agent: " + string(p)}
		if err := a.e.prod.Publish(ctx, wire.TopicEvents, a.body(ev)); err != nil {
			return err
		}
	}
	return nil
}

// body is the message of ev: signed with the agent's key, or plain JSON
// for an agent of the previous release.
func (a *agent) body(ev wire.Event) []byte {
	a.mu.Lock()
	key := a.key
	a.mu.Unlock()
	if key == nil {
		b, _ := json.Marshal(ev)
		return b
	}
	b, err := wire.SignEvent(ev, key)
	if err != nil {
		a.e.t.Errorf("cannot sign event: %v", err)
	}
	return b
}

// got is "task_id/kind/version" of every task the agent received.
func (a *agent) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, t := range a.tasks {
		out = append(out, fmt.Sprintf("%d/%s/%s", t.TaskID, t.Kind, t.Version))
	}
	return out
}

// gotFor is got for one deploy, without repeats.
func (a *agent) gotFor(id string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, t := range a.tasks {
		if s := fmt.Sprintf("%d/%s/%s", t.TaskID, t.Kind, t.Version); t.DeployID == id && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// counter reads a wharf_deploy_* counter of a metrics set.
