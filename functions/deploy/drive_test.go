package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestCanaryDeploy drives canaries over 3 hosts in 2 rooms to succeeded,
// with agents that report phases out of order and twice.
func TestCanaryDeploy(t *testing.T) {
	e := newEnv(t, envOptions{redis: true, run: true})
	e.push("shop", "1.0.0")
	e.push("shop", "2.0.0")
	agents := []*agent{e.startAgent("sh1", "sh", healthy), e.startAgent("bj2", "bj", healthy), e.startAgent("bj1", "bj", healthy)}

	// The first deploy names the rooms: no host runs the app yet.
	d := e.deploy(`{"version":"1.0.0","targets":{"rooms":["bj","sh"]},"strategy":{"kind":"canary","steps":[30,100]},"why":"first"}`)
	v := e.waitState(d.ID, 10*time.Second, plan.StateSucceeded)
	if len(v.Steps) != 2 || !slices.Equal(v.Steps[0].Targets, []int{0}) || !slices.Equal(v.Steps[1].Targets, []int{1, 2}) {
		t.Fatalf("steps: %+v", v.Steps)
	}
	if v.Steps[1].StartedAt.Before(v.Steps[0].EndedAt) {
		t.Fatalf("step 2 started before step 1 ended: %+v", v.Steps)
	}
	var order []string
	for _, tg := range v.Targets {
		order = append(order, tg.Room+"/"+tg.Host)
		if tg.State != wire.PhaseHealthy || tg.TaskID != 1 {
			t.Fatalf("target %+v", tg)
		}
	}
	if !slices.Equal(order, []string{"bj/bj1", "bj/bj2", "sh/sh1"}) {
		t.Fatalf("targets in order %v", order)
	}
	if v.Summary.Counts[wire.PhaseHealthy] != 3 || v.Previous.Version != "" || v.Summary.Duration <= 0 {
		t.Fatalf("summary %+v", v.Summary)
	}
	for _, a := range agents {
		if got := a.gotFor(d.ID); !slices.Equal(got, []string{"1/deploy/1.0.0"}) {
			t.Fatalf("agent %s got %v", a.id, got)
		}
	}
	// The record says succeeded before the driver's bookkeeping (finish:
	// good releases, live versions, then the active key) is done.
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := e.live("shop"); !slices.Equal(got, []string{"1.0.0"}) {
			return fmt.Errorf("live %v", got)
		}
		if _, err := e.st.Get(e.ctx, deploy.ActiveKey("shop")); err == nil {
			return errors.New("the active key outlived the deploy")
		}
		return nil
	})

	// The second deploy takes all the hosts that run the app (per their
	// heartbeats) and remembers 1.0.0 as its rollback target.
	waitApps(t, e, agents, "1.0.0")
	d2 := e.deploy(`{"version":"2.0.0","targets":{"all":true},"strategy":{"kind":"canary","steps":[30,60,100],"pause":"1s"},"max_unavailable":2}`)
	v = e.waitState(d2.ID, 10*time.Second, plan.StateSucceeded)
	if v.Previous.Version != "1.0.0" || len(v.Steps) != 3 || v.Steps[1].StartedAt.Sub(v.Steps[0].EndedAt) < time.Second {
		t.Fatalf("second deploy: previous %q, steps %+v", v.Previous.Version, v.Steps)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := e.live("shop"); !slices.Equal(got, []string{"1.0.0", "2.0.0"}) {
			return fmt.Errorf("live %v", got)
		}
		good, err := e.st.Get(e.ctx, deploy.LastGoodKey("shop"))
		if err != nil || !strings.Contains(string(good.Value), `"releases":[{"version":"2.0.0"`) {
			return fmt.Errorf("last good: %s %v", good.Value, err)
		}
		return nil
	})
	h := decode[deploy.HistoryResponse](t, e.do("GET", base, e.tok["shop"], nil))
	if len(h.Deploys) != 2 || h.Deploys[0].ID != d2.ID || h.Deploys[0].State != plan.StateSucceeded {
		t.Fatalf("history %+v", h)
	}
}

// waitApps waits until every agent reports version of shop in its
// heartbeat.
func waitApps(t *testing.T, e *env, agents []*agent, version string) {
	t.Helper()
	for _, a := range agents {
		testenv.Eventually(t, 5*time.Second, func() error {
			a.mu.Lock()
			defer a.mu.Unlock()
			if got := a.apps["shop"].Version; got != version {
				return fmt.Errorf("agent %s runs %q, not %s", a.id, got, version)
			}
			return nil
		})
		a.heartbeat() // the registry has the app now, not at the next tick
	}
}

// deployAll deploys version to every host of the app, at once.
func deployAll(t *testing.T, e *env, version, targets string) deploy.View {
	t.Helper()
	d := e.deploy(`{"version":"` + version + `","targets":` + targets + `,"max_unavailable":"100%"}`)
	return e.waitState(d.ID, 10*time.Second, plan.StateSucceeded)
}

// TestFailingAgentRollsBack: a target fails, the deploy rolls back the
// targets it moved, and only those. Tasks go through an outbox here.
func TestFailingAgentRollsBack(t *testing.T) {
	e := newEnv(t, envOptions{redis: true, run: true, opts: func(o *deploy.Options) {
		ob, err := bus.NewOutbox(bus.OutboxOptions{Path: ":memory:", Producer: o.Producer, Name: "deploy"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ob.Close() })
		o.Outbox, o.Producer = ob, nil
	}})
	e.push("shop", "1.0.0")
	e.push("shop", "2.0.0")
	a1, a2, a3 := e.startAgent("h1", "bj", healthy), e.startAgent("h2", "bj", failing("2.0.0")), e.startAgent("h3", "bj", healthy)
	deployAll(t, e, "1.0.0", `{"rooms":["bj"]}`)

	d := e.deploy(`{"version":"2.0.0","targets":{"rooms":["bj"]},"strategy":{"kind":"rolling","batch":1}}`)
	v := e.waitState(d.ID, 10*time.Second, plan.StateRolledBack)
	if !strings.Contains(v.Error, "host h2") || v.Steps[1].Error == "" {
		t.Fatalf("error %q, steps %+v", v.Error, v.Steps)
	}
	for _, c := range []struct {
		a    *agent
		want []string
	}{
		{a1, []string{"1/deploy/2.0.0", "2/rollback/1.0.0"}},
		{a2, []string{"1/deploy/2.0.0", "2/rollback/1.0.0"}},
		{a3, nil},
	} {
		if got := c.a.gotFor(d.ID); !slices.Equal(got, c.want) {
			t.Fatalf("agent %s got %v, want %v", c.a.id, got, c.want)
		}
	}
	// The target the deploy never reached is skipped, not pending (issue 12).
	if tg := v.Targets[2]; tg.Moved || tg.TaskID != 0 || tg.State != wire.PhaseSkipped {
		t.Fatalf("unmoved target %+v", tg)
	}
	if v.Targets[1].Error == "" || v.Targets[0].State != wire.PhaseRolledBack {
		t.Fatalf("targets %+v", v.Targets)
	}
	good, _ := e.st.Get(e.ctx, deploy.LastGoodKey("shop"))
	if !strings.Contains(string(good.Value), `"releases":[{"version":"1.0.0"`) {
		t.Fatalf("last good changed: %s", good.Value)
	}
	if got := e.live("shop"); !slices.Contains(got, "1.0.0") {
		t.Fatalf("live %v", got)
	}
}

// TestSilentAgentLost: a host that stops heartbeating fails its target
// with "agent lost" once its heartbeat expires (HostTTL, 2s here).
func TestSilentAgentLost(t *testing.T) {
	e := newEnv(t, envOptions{redis: true, run: true, opts: func(o *deploy.Options) { o.HostTTL = 2 * time.Second }})
	e.push("shop", "1.0.0")
	e.startAgent("quiet", "bj", nil)
	start := time.Now()
	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["quiet"]}}`)
	v := e.waitState(d.ID, 15*time.Second, plan.StateFailed)
	if !strings.Contains(v.Error, "agent lost") || v.Targets[0].Error != "agent lost" {
		t.Fatalf("error %q, target %+v", v.Error, v.Targets[0])
	}
	if took := time.Since(start); took < 2*time.Second || took > 6*time.Second {
		t.Fatalf("lost after %s", took)
	}
}

// TestPauseResumeAbort controls a rolling deploy over HTTP.
func TestPauseResumeAbort(t *testing.T) {
	e := newEnv(t, envOptions{redis: true, run: true})
	e.push("shop", "1.0.0")
	e.push("shop", "2.0.0")
	a1, a2 := e.startAgent("h1", "bj", healthy), e.startAgent("h2", "bj", healthy)
	deployAll(t, e, "1.0.0", `{"rooms":["bj"]}`)
	a2.holdDeploys("2.0.0")

	d := e.deploy(`{"version":"2.0.0","targets":{"rooms":["bj"]},"strategy":{"kind":"rolling","batch":1,"pause":"manual"}}`)
	e.waitState(d.ID, 10*time.Second, plan.StateWaiting)
	ctl := func(action, token, body string) resp { return e.do("POST", base+"/"+d.ID+"/"+action, token, body) }
	want(t, ctl("pause", e.admin, ""), 409, "cannot pause a deploy that is waiting")
	want(t, ctl("resume", e.tok["other"], ""), 404) // like a missing app: see tenancy_test.go
	want(t, ctl("resume", e.tok["agent"], ""), 403)
	// The CLI sends {"why": ...} with every action (it failed with 400
	// for pause and resume before).
	r := ctl("resume", e.tok["shop"], `{"why":"numbers look good"}`)
	want(t, r, 200)
	if v := decode[deploy.View](t, r); v.State != plan.StateRunning {
		t.Fatalf("resumed: %s", v.State)
	}
	// Step 2 sends h2 its task, which h2 sits on.
	waitFor(t, func() bool { return len(a2.gotFor(d.ID)) == 1 })
	r = ctl("pause", e.admin, `{"why":""}`)
	want(t, r, 200)
	if v := decode[deploy.View](t, r); v.State != plan.StatePaused || v.PausedAt.IsZero() {
		t.Fatalf("paused: %s", r)
	}
	want(t, ctl("pause", e.admin, ""), 409, "paused")
	want(t, ctl("resume", e.admin, ""), 200)
	r = ctl("abort", e.admin, `{"why":"bad numbers"}`)
	want(t, r, 200)
	if v := decode[deploy.View](t, r); v.State != plan.StateRollingBack {
		t.Fatalf("aborted: %s", v.State)
	}
	v := e.waitState(d.ID, 10*time.Second, plan.StateRolledBack)
	if v.Error != "aborted by admin: bad numbers" {
		t.Fatalf("error %q", v.Error)
	}
	var whats []string
	for _, en := range v.Timeline {
		whats = append(whats, en.What)
	}
	if !slices.ContainsFunc(v.Timeline, func(en plan.Entry) bool { return en.What == "resumed" && en.Msg == "numbers look good" }) {
		t.Fatalf("the resume's why is not in the timeline: %+v", v.Timeline)
	}
	for _, w := range []string{"waiting", "resumed", "paused", "aborted", "rolling_back", "rolled_back"} {
		if !slices.Contains(whats, w) {
			t.Fatalf("timeline %v lacks %s", whats, w)
		}
	}
	// h2 ends its held deploy task now: its events are of an older task.
	a2.release()
	for _, a := range []*agent{a1, a2} {
		if got := a.gotFor(d.ID); !slices.Equal(got, []string{"1/deploy/2.0.0", "2/rollback/1.0.0"}) {
			t.Fatalf("agent %s got %v", a.id, got)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if v := e.show(d.ID); v.State != plan.StateRolledBack || v.Targets[1].State != wire.PhaseRolledBack {
		t.Fatalf("after the late events: %s %+v", v.State, v.Targets[1])
	}
	want(t, ctl("resume", e.admin, ""), 409)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
}

// TestRollbackWhileRunning: POST /rollback aborts the running deploy and
// moves every host of the app back to the last good version.
func TestRollbackWhileRunning(t *testing.T) {
	e := newEnv(t, envOptions{redis: true, run: true})
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0"} {
		e.push("shop", v)
	}
	a1, a2 := e.startAgent("h1", "bj", healthy), e.startAgent("h2", "sh", healthy)
	deployAll(t, e, "1.0.0", `{"rooms":["bj","sh"]}`)
	waitApps(t, e, []*agent{a1, a2}, "1.0.0")
	a2.holdDeploys("2.0.0")

	d := e.deploy(`{"version":"2.0.0","targets":{"all":true},"strategy":{"kind":"rolling","batch":1}}`)
	waitFor(t, func() bool { return len(a2.gotFor(d.ID)) == 1 })
	r := e.do("POST", base, e.admin, `{"version":"3.0.0","targets":{"all":true}}`)
	want(t, r, 409, d.ID)
	if decode[struct{ Running string }](t, r).Running != d.ID {
		t.Fatalf("409 without the running id: %s", r)
	}

	r = e.do("POST", "/api/v1/apps/shop/rollback", e.tok["shop"], `{"why":"errors up"}`)
	want(t, r, 201)
	rb := decode[deploy.View](t, r)
	if !rb.Rollback || rb.Version != "1.0.0" || rb.Previous.Version != "2.0.0" || rb.Superseded != d.ID || len(rb.Targets) != 2 {
		t.Fatalf("rollback: %s", r)
	}
	old := e.show(d.ID)
	if old.State != plan.StateAborted || !strings.Contains(old.Error, "superseded by rollback "+rb.ID) {
		t.Fatalf("superseded deploy: %s %q", old.State, old.Error)
	}
	if b, _ := json.Marshal(old.Timeline); !strings.Contains(string(b), "moves the targets to 1.0.0") {
		t.Fatalf("timeline %s", b)
	}
	v := e.waitState(rb.ID, 10*time.Second, plan.StateSucceeded)
	for _, tg := range v.Targets {
		if tg.State != wire.PhaseHealthy {
			t.Fatalf("rollback target %+v", tg)
		}
	}
	for _, a := range []*agent{a1, a2} {
		if got := a.gotFor(rb.ID); !slices.Equal(got, []string{"1/deploy/1.0.0"}) {
			t.Fatalf("agent %s got %v", a.id, got)
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error { // finish runs after the record says succeeded
		good, _ := e.st.Get(e.ctx, deploy.LastGoodKey("shop"))
		if !strings.Contains(string(good.Value), `"releases":[{"version":"1.0.0"`) || strings.Contains(string(good.Value), "2.0.0") {
			return fmt.Errorf("last good: %s", good.Value)
		}
		if got := e.live("shop"); !slices.Contains(got, "1.0.0") || slices.Contains(got, "3.0.0") {
			return fmt.Errorf("live %v", got)
		}
		return nil
	})
	a2.release()

	// Nothing is running now and the app is on its only good version.
	want(t, e.do("POST", "/api/v1/apps/shop/rollback", e.admin, `{}`), 409, "no good version")
	// A named version works, while nothing runs too.
	r = e.do("POST", "/api/v1/apps/shop/rollback", e.admin, `{"to":"3.0.0"}`)
	want(t, r, 201)
	rb2 := decode[deploy.View](t, r)
	if rb2.Superseded != "" || rb2.Version != "3.0.0" {
		t.Fatalf("second rollback: %s", r)
	}
	e.waitState(rb2.ID, 10*time.Second, plan.StateSucceeded)
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := e.live("shop"); !slices.Contains(got, "3.0.0") || !slices.Contains(got, "1.0.0") {
			return fmt.Errorf("live %v", got)
		}
		return nil
	})
}
