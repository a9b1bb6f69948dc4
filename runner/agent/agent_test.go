package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

func currentLink(t *testing.T, h *harness) string {
	t.Helper()
	l, err := os.Readlink(filepath.Join(h.dir, "apps", "shop", "current"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// deployFirst deploys 1.0.0 as d0/1 and waits until it serves.
func deployFirst(t *testing.T, h *harness, sha string) {
	t.Helper()
	h.publish(h.task("d0", 1, wire.TaskDeploy, "1.0.0", sha))
	if ev := h.waitFinal("d0", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy of 1.0.0: %s: %s\n%s", ev.State, ev.Msg, ev.LogTail)
	}
	h.checkServing("1.0.0", 2)
}

func TestDeployUpgradeRollbackShutdown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha1 := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0",
		hooks: bundle.Hooks{PreStart: `echo "pre_start $WHARF_APP $WHARF_VERSION" > pre_start.out`}}))
	sha2 := h.cp.add("1.1.0", makeBundle(t, bundleSpec{version: "1.1.0"}))
	a := h.start(h.options())

	t.Run("deploy", func(t *testing.T) {
		h.publish(h.task("d1", 1, wire.TaskDeploy, "1.0.0", sha1))
		final := h.waitFinal("d1", 1, 30*time.Second)
		got := states(h.eventsOf("d1", 1))
		if want := []wire.Phase{wire.PhaseDownloading, wire.PhaseStarting, wire.PhaseHealthy}; !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v (%s)", got, want, final.Msg)
		}
		for _, e := range h.eventsOf("d1", 1) {
			if e.Host != h.host || e.At.IsZero() {
				t.Errorf("event %+v lacks host or time", e)
			}
		}
		if final.Duration <= 0 || !strings.Contains(final.Msg, "2 instances healthy") {
			t.Errorf("healthy event: %q, duration %s", final.Msg, final.Duration)
		}
		h.checkServing("1.0.0", 2)
		for _, b := range h.cp.live() {
			if b.Room != "r1" || b.Labels["host"] != h.host || b.TTL.D() != 2*time.Second {
				t.Errorf("registration %+v", b)
			}
		}
		testenv.Eventually(t, 5*time.Second, func() error {
			for id, b := range h.cp.live() {
				if l := b.Load; l == nil || l.CPU < 0 || l.CPU > 1 || l.Memory <= 0 || l.Memory > 1 {
					return fmt.Errorf("instance %s reports load %+v", id, l)
				}
			}
			return nil
		})
		testenv.Eventually(t, 5*time.Second, func() error {
			host, ok := h.cp.lastHost()
			app := host.Apps["shop"]
			if !ok || app.Version != "1.0.0" || !app.Healthy || len(app.Instances) != 2 {
				return fmt.Errorf("last heartbeat %+v", host)
			}
			if host.Room != "r1" || !slices.Equal(host.Labels, []string{"ssd"}) || host.Capacity != 4 || host.Agent != "test" {
				return fmt.Errorf("host fields %+v", host)
			}
			return nil
		})
		out, err := os.ReadFile(filepath.Join(h.dir, "apps", "shop", "releases", "1.0.0", "pre_start.out"))
		if err != nil || string(out) != "pre_start shop 1.0.0\n" {
			t.Errorf("pre_start hook output %q, %v", out, err)
		}
		if s := a.Apps()["shop"]; s.Version != "1.0.0" || s.Previous != "" || !s.Healthy {
			t.Errorf("Apps: %+v", s)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("upgrade", func(t *testing.T) {
		before := len(h.cp.opsCopy())
		oldLive := h.cp.live()
		h.publish(h.task("d2", 1, wire.TaskDeploy, "1.1.0", sha2))
		if ev := h.waitFinal("d2", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
			t.Fatalf("upgrade: %s: %s\n%s", ev.State, ev.Msg, ev.LogTail)
		}
		h.checkServing("1.1.0", 2)
		var ops []regOp
		testenv.Eventually(t, 5*time.Second, func() error {
			ops = h.cp.opsCopy()[before:]
			n := 0
			for _, op := range ops {
				if op.Method == "DELETE" {
					n++
				}
			}
			if n != 2 {
				return fmt.Errorf("%d deletes of the old instances: %+v", n, ops)
			}
			return nil
		})
		lastNew, firstDelete := -1, len(ops)
		for i, op := range ops {
			switch {
			case op.Method == "PUT" && op.New && op.Version == "1.1.0":
				lastNew = i
			case op.Method == "DELETE":
				firstDelete = min(firstDelete, i)
				if _, ok := oldLive[op.ID]; !ok || op.Version != "1.0.0" {
					t.Errorf("deleted %s (%s), not an old instance", op.ID, op.Version)
				}
				if !op.Serving {
					t.Errorf("old instance %s stopped before its registration was deleted", op.ID)
				}
			}
		}
		if lastNew < 0 || lastNew > firstDelete {
			t.Errorf("new instances not all registered before the old ones were deleted: %+v", ops)
		}
		testenv.Eventually(t, 10*time.Second, func() error {
			for _, b := range oldLive {
				if _, err := getBody("http://" + b.Addr + "/"); err == nil {
					return fmt.Errorf("old instance %s still answers", b.Addr)
				}
			}
			return nil
		})
		if l := currentLink(t, h); l != "releases/1.1.0" {
			t.Errorf("current -> %s", l)
		}
		if s := a.Apps()["shop"]; s.Version != "1.1.0" || s.Previous != "1.0.0" {
			t.Errorf("Apps: %+v", s)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("rollback", func(t *testing.T) {
		h.publish(h.task("d2", 2, wire.TaskRollback, "1.0.0", sha1))
		ev := h.waitFinal("d2", 2, 30*time.Second)
		if ev.State != wire.PhaseRolledBack {
			t.Fatalf("rollback: %s: %s\n%s", ev.State, ev.Msg, ev.LogTail)
		}
		if evs := h.eventsOf("d2", 2); evs[1].Msg != "release already on the host" {
			t.Errorf("starting event after no download: %q", evs[1].Msg)
		}
		if n := h.cp.downloadsOf("1.0.0"); n != 1 {
			t.Errorf("1.0.0 downloaded %d times", n)
		}
		h.checkServing("1.0.0", 2)
		if l := currentLink(t, h); l != "releases/1.0.0" {
			t.Errorf("current -> %s", l)
		}
		if s := a.Apps()["shop"]; s.Version != "1.0.0" || s.Previous != "1.1.0" {
			t.Errorf("Apps: %+v", s)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("shutdown", func(t *testing.T) {
		var groups []groupRecord
		testenv.Eventually(t, 10*time.Second, func() error {
			groups = h.readState().Groups
			if len(groups) != 3 {
				return fmt.Errorf("%d process groups recorded, want 3: %+v", len(groups), groups)
			}
			return nil
		})
		a.stop()
		if live := h.cp.live(); len(live) != 0 {
			t.Errorf("registrations left after shutdown: %v", live)
		}
		groupsGone(t, groups)
		st := h.readState()
		if len(st.Groups) != 0 || len(st.Registered) != 0 || st.Apps["shop"].Version != "1.0.0" || len(st.Queue) != 0 {
			t.Errorf("state after shutdown: %+v", st)
		}
	})
}

func TestBrokenReleasesFail(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha1 := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	shaBroken := h.cp.add("2.0.0", makeBundle(t, bundleSpec{version: "2.0.0", env: map[string]string{"BROKEN": "1"}}))
	shaPost := h.cp.add("2.1.0", makeBundle(t, bundleSpec{version: "2.1.0",
		hooks: bundle.Hooks{PostStart: "echo warm-up failed for $WHARF_VERSION; exit 7"}}))
	opts := h.options()
	opts.HealthTimeout = 2 * time.Second
	a := h.start(opts)
	deployFirst(t, h, sha1)

	t.Run("health", func(t *testing.T) {
		h.publish(h.task("d1", 1, wire.TaskDeploy, "2.0.0", shaBroken))
		ev := h.waitFinal("d1", 1, 30*time.Second)
		if ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "not healthy within 2s") {
			t.Fatalf("event %s: %q", ev.State, ev.Msg)
		}
		if !strings.Contains(ev.LogTail, "BROKEN=1: /healthz answers 500") || ev.Duration <= 0 {
			t.Errorf("log tail %q, duration %s", ev.LogTail, ev.Duration)
		}
		for _, op := range h.cp.opsCopy() {
			if op.Version == "2.0.0" {
				t.Errorf("broken instance registered: %+v", op)
			}
		}
		h.checkServing("1.0.0", 2)
		for _, g := range h.readState().Groups {
			if !strings.HasPrefix(g.Name, "1.0.0.") {
				t.Errorf("process %s of the broken release still recorded", g.Name)
			}
		}
		if l := currentLink(t, h); l != "releases/1.0.0" {
			t.Errorf("current -> %s", l)
		}
		if s := a.Apps()["shop"]; s.Version != "1.0.0" || !s.Healthy {
			t.Errorf("Apps: %+v", s)
		}
	})

	t.Run("post_start", func(t *testing.T) {
		h.publish(h.task("d2", 1, wire.TaskDeploy, "2.1.0", shaPost))
		ev := h.waitFinal("d2", 1, 30*time.Second)
		if ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "hook post_start failed") ||
			!strings.Contains(ev.LogTail, "warm-up failed for 2.1.0") {
			t.Fatalf("event %s: %q, tail %q", ev.State, ev.Msg, ev.LogTail)
		}
		h.checkServing("1.0.0", 2)
		var puts, deletes int
		for _, op := range h.cp.opsCopy() {
			switch {
			case op.Version == "2.1.0" && op.Method == "PUT" && op.New:
				puts++
			case op.Version == "2.1.0" && op.Method == "DELETE":
				deletes++
			}
		}
		if puts != 2 || deletes != 2 {
			t.Errorf("2.1.0 instances: %d registered, %d deregistered; want 2 and 2", puts, deletes)
		}
	})
}

func TestCrashingProcessFailsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha := h.cp.add("3.0.0", makeBundle(t, bundleSpec{version: "3.0.0", env: map[string]string{"CRASH": "1"}}))
	opts := h.options()
	opts.HealthTimeout = 10 * time.Minute // the exit must end the wait, not the timeout
	h.start(opts)
	h.publish(h.task("d1", 1, wire.TaskDeploy, "3.0.0", sha))
	ev := h.waitFinal("d1", 1, 30*time.Second)
	if ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "exited") {
		t.Fatalf("event %s: %q", ev.State, ev.Msg)
	}
	if !strings.Contains(ev.LogTail, "crash requested: version 3.0.0") {
		t.Errorf("log tail %q", ev.LogTail)
	}
	if ops := h.cp.opsCopy(); len(ops) != 0 {
		t.Errorf("registry calls: %+v", ops)
	}
	if st := h.readState(); len(st.Groups) != 0 || st.Apps["shop"].Version != "" {
		t.Errorf("state after a failed first deploy: %+v", st)
	}
}

func TestChecksumMismatchAndInvalidTask(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	h.start(h.options())

	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.0.0", sum([]byte("other bytes"))))
	ev := h.waitFinal("d1", 1, 30*time.Second)
	if ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "sha256 mismatch") {
		t.Fatalf("event %s: %q", ev.State, ev.Msg)
	}
	if got := states(h.eventsOf("d1", 1)); !slices.Equal(got, []wire.Phase{wire.PhaseDownloading, wire.PhaseFailed}) {
		t.Errorf("events %v", got)
	}
	if n := h.cp.downloadsOf("1.0.0"); n != 1 {
		t.Errorf("downloads: %d", n)
	}
	ents, _ := os.ReadDir(filepath.Join(h.dir, "apps", "shop", "releases"))
	if len(ents) != 0 {
		t.Errorf("something was unpacked: %v", ents)
	}

	bad := h.task("d2", 1, wire.TaskDeploy, "1.0.0", "not-a-checksum")
	h.publish(bad)
	ev = h.waitFinal("d2", 1, 30*time.Second)
	if ev.State != wire.PhaseFailed || !strings.Contains(ev.Msg, "sha256 must be 64 hex digits") {
		t.Fatalf("invalid task: %s: %q", ev.State, ev.Msg)
	}
	if n := h.cp.downloadsOf("1.0.0"); n != 1 {
		t.Errorf("downloads after the invalid task: %d", n)
	}
}

func TestRepeatedAndSupersededTasks(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha1 := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	a := h.start(h.options())
	task := h.task("d1", 1, wire.TaskDeploy, "1.0.0", sha1)
	h.publish(task)
	first := h.waitFinal("d1", 1, 30*time.Second)
	if first.State != wire.PhaseHealthy {
		t.Fatalf("%s: %s", first.State, first.Msg)
	}
	task.Resend = true
	h.publish(task)
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := states(h.eventsOf("d1", 1)); len(got) != 4 {
			return fmt.Errorf("events %v, want the healthy one again", got)
		}
		return nil
	})
	evs := h.eventsOf("d1", 1)
	if evs[3] != first {
		t.Errorf("re-sent %+v, want %+v", evs[3], first)
	}
	if n := h.cp.downloadsOf("1.0.0"); n != 1 {
		t.Errorf("downloads: %d", n)
	}

	// A newer task of a deploy makes its older ones moot.
	h.publish(h.task("d2", 2, wire.TaskDeploy, "1.0.0", sha1))
	if ev := h.waitFinal("d2", 2, 30*time.Second); ev.State != wire.PhaseHealthy || !strings.Contains(ev.Msg, "already running") {
		t.Fatalf("same version again: %s: %q", ev.State, ev.Msg)
	}
	if err := a.accept(h.task("d2", 1, wire.TaskDeploy, "1.0.0", sha1)); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	queued, finished := len(a.st.Queue), a.findFinished("d2", 1)
	a.mu.Unlock()
	if queued != 0 || finished != nil {
		t.Errorf("superseded task accepted: %d queued, finished %+v", queued, finished)
	}
	if evs := h.eventsOf("d2", 1); len(evs) != 0 {
		t.Errorf("events of a superseded task: %+v", evs)
	}
	h.checkServing("1.0.0", 2)
}

// Tasks of one app run one after the other; other apps do not wait.
func TestTasksSerialisedPerApp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	block := filepath.Join(testenv.CrossableDir(t), "block")
	if err := os.WriteFile(block, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	shaSlow := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0", env: map[string]string{"BLOCK_FILE": block}}))
	shaNext := h.cp.add("1.1.0", makeBundle(t, bundleSpec{version: "1.1.0"}))
	shaCart := h.cp.addApp("cart", "1.0.0", makeBundle(t, bundleSpec{app: "cart", version: "1.0.0"}))
	opts := h.options()
	opts.HealthTimeout = 30 * time.Second
	a := h.start(opts)

	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.0.0", shaSlow))
	h.waitState("d1", 1, wire.PhaseStarting, 30*time.Second)
	h.publish(h.task("d2", 1, wire.TaskDeploy, "1.1.0", shaNext))
	cart := h.task("c1", 1, wire.TaskDeploy, "1.0.0", shaCart)
	cart.App = "cart"
	h.publish(cart)
	if ev := h.waitFinal("c1", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("cart: %s: %s", ev.State, ev.Msg)
	}
	if evs := h.eventsOf("d2", 1); len(evs) != 0 {
		t.Errorf("shop's second task started while its first one runs: %+v", evs)
	}
	if evs := h.eventsOf("d1", 1); len(evs) != 2 {
		t.Errorf("shop's first task: %v", states(evs))
	}
	for _, addr := range a.Apps()["cart"].Instances {
		if got, err := getBody("http://" + addr + "/"); err != nil || got != "1.0.0" {
			t.Errorf("cart at %s: %q, %v", addr, got, err)
		}
	}

	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	if ev := h.waitFinal("d1", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("d1: %s: %s", ev.State, ev.Msg)
	}
	if ev := h.waitFinal("d2", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("d2: %s: %s", ev.State, ev.Msg)
	}
	if s := a.Apps(); s["shop"].Version != "1.1.0" || s["shop"].Previous != "1.0.0" || s["cart"].Version != "1.0.0" {
		t.Errorf("Apps: %+v", s)
	}
}
