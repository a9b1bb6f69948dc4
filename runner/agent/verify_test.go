package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

// refusedCounts reads wharf_agent_tasks_refused_total by reason.
func refusedCounts(set *metrics.Set) map[string]int {
	var b bytes.Buffer
	set.WritePrometheus(&b)
	out := map[string]int{}
	for l := range strings.SplitSeq(b.String(), "\n") {
		var reason string
		var n int
		if rest, ok := strings.CutPrefix(l, `wharf_agent_tasks_refused_total{reason="`); ok {
			if _, err := fmt.Sscanf(strings.Replace(rest, `"} `, " ", 1), "%s %d", &reason, &n); err == nil && n > 0 {
				out[reason] = n
			}
		}
	}
	return out
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestForgedTasksAreRefused publishes, straight to the agent's topic on a
// real nsqd, what someone who can publish to nsqd could: an unsigned task,
// a task signed by their own key, one signed with a key id of the real key
// but their signature, a real task with its version and sha256 changed, a
// real task for another host, an expired real task, and a replay of a real
// task, also after an agent restart. The agent installs nothing of them
// (no download, no event, no release on disk) and counts each by reason;
// real tasks, also signed by a rotated key, still work.
func TestForgedTasksAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	good := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	evil := h.cp.add("6.6.6", makeBundle(t, bundleSpec{version: "6.6.6"}))
	set := metrics.NewSet()
	opts := h.options()
	opts.Metrics = set
	a := h.start(opts)

	forged := func(id string) wire.Task { return h.task(id, 1, wire.TaskDeploy, "6.6.6", evil) }
	_, ownKey, _ := ed25519.GenerateKey(rand.Reader)

	// Unsigned: the old plain task, and an envelope without a signature.
	h.publishRaw(marshal(t, forged("unsigned-plain")))
	h.publishRaw(marshal(t, signed(forged("unsigned-envelope"))))
	// Signed by a key the API does not serve.
	s := signed(forged("own-key"))
	s.Sign(ownKey)
	h.publishRaw(marshal(t, s))
	// Their signature under the real key's id.
	s = signed(forged("wrong-sig"))
	s.Sign(ownKey)
	s.KeyID = wire.KeyID(h.cp.key.Public().(ed25519.PublicKey))
	h.publishRaw(marshal(t, s))
	// A real task, tampered with: another version and sha256.
	var tampered wire.SignedTask
	if err := json.Unmarshal(h.cp.sign(h.task("tampered", 1, wire.TaskDeploy, "1.0.0", good)), &tampered); err != nil {
		t.Fatal(err)
	}
	tampered.Task.Version, tampered.Task.SHA256 = "6.6.6", evil
	h.publishRaw(marshal(t, tampered))
	// A real task for another host, published to this one's topic.
	other := forged("other-host")
	other.Host = "host-2"
	h.publishRaw(h.cp.sign(other))
	// A real task that expired, and one with a window too long to trust.
	s = signed(forged("expired"))
	s.IssuedAt, s.ExpiresAt = time.Now().Add(-20*time.Minute), time.Now().Add(-10*time.Minute)
	s.Sign(h.cp.key)
	h.publishRaw(marshal(t, s))
	s = signed(forged("forever"))
	s.ExpiresAt = s.IssuedAt.Add(365 * 24 * time.Hour)
	s.Sign(h.cp.key)
	h.publishRaw(marshal(t, s))
	// Garbage.
	h.publishRaw([]byte(`{"task":`))

	// A real task works, and its replay is refused.
	real := h.cp.sign(h.task("real", 1, wire.TaskDeploy, "1.0.0", good))
	h.publishRaw(real)
	if ev := h.waitFinal("real", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("real task: %s: %s", ev.State, ev.Msg)
	}
	nothingForged := func() {
		t.Helper()
		if n := h.cp.downloadsOf("6.6.6"); n != 0 {
			t.Errorf("6.6.6 was downloaded %d times", n)
		}
		if _, err := os.Stat(filepath.Join(h.dir, "apps", "shop", "releases", "6.6.6")); !os.IsNotExist(err) {
			t.Errorf("6.6.6 is on disk: %v", err)
		}
		for _, id := range []string{"unsigned-plain", "unsigned-envelope", "own-key", "wrong-sig", "tampered", "other-host", "expired", "forever"} {
			if evs := h.eventsOf(id, 1); len(evs) != 0 {
				t.Errorf("forged task %s got events %v", id, states(evs))
			}
		}
	}
	nothingForged()
	want := map[string]int{"unsigned": 2, "unknown_key": 1, "bad_signature": 2, "wrong_host": 1, "expired": 2, "malformed": 1}
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := refusedCounts(set); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("refused %v, want %v", got, want)
		}
		return nil
	})
	h.publishRaw(real)
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := refusedCounts(set)["replayed"]; n != 1 {
			return fmt.Errorf("replayed %d, want 1", n)
		}
		return nil
	})

	// After a restart on the same data dir the replay is still refused.
	a.stop()
	set2 := metrics.NewSet()
	opts.Metrics = set2
	h.start(opts)
	h.publishRaw(real)
	testenv.Eventually(t, 30*time.Second, func() error {
		if n := refusedCounts(set2)["replayed"]; n != 1 {
			return fmt.Errorf("replayed after restart %d, want 1", n)
		}
		return nil
	})

	// A rotated key is fetched when a task names it (keys are fetched at
	// most once a second: the test sends the task again, as the deploy
	// function does, until it is taken).
	h.cp.rotate()
	testenv.Eventually(t, 30*time.Second, func() error {
		if len(h.eventsOf("rotated", 1)) > 0 {
			return nil
		}
		h.publish(h.task("rotated", 1, wire.TaskDeploy, "1.0.0", good))
		return fmt.Errorf("the task signed by a rotated key is not taken yet")
	})
	if ev := h.waitFinal("rotated", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("task signed by a rotated key: %s: %s", ev.State, ev.Msg)
	}

	nothingForged()
	if evs := h.eventsOf("real", 1); len(evs) != 3 {
		t.Errorf("the real task's events %v: the replays made more", states(evs))
	}
	if l := h.logs.String(); !strings.Contains(l, `level=WARN msg="refusing a task message"`) || !strings.Contains(l, "reason=bad_signature") {
		t.Errorf("no WARN for the refused tasks in the logs")
	}
	if l := h.logs.String(); strings.Contains(l, fmt.Sprintf("%x", tampered.Sig)) {
		t.Errorf("a signature reached the logs")
	}
}

// TestTaskWaitsForKeys: when the API cannot serve the keys (an outage at
// the agent's start), a real task is not dropped: it comes back until the
// keys can be fetched, and then runs.
func TestTaskWaitsForKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	good := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	h.cp.setKeysDown(true)
	set := metrics.NewSet()
	opts := h.options()
	opts.Metrics = set
	h.start(opts)
	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.0.0", good))
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := h.cp.keyFetches(); n < 3 {
			return fmt.Errorf("%d key fetches, want the start's and two for the task", n)
		}
		return nil
	})
	if evs := h.eventsOf("d1", 1); len(evs) != 0 {
		t.Fatalf("the task ran without a key: %v", states(evs))
	}
	h.cp.setKeysDown(false)
	if ev := h.waitFinal("d1", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("task after the outage: %s: %s", ev.State, ev.Msg)
	}
	if got := refusedCounts(set); len(got) != 0 {
		t.Errorf("refused %v, want none", got)
	}
}
