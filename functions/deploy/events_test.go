package deploy_test

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

// refused reads wharf_deploy_events_refused_total{reason}.
func (e *env) refused(reason string) uint64 {
	return e.set.GetOrCreateCounter(fmt.Sprintf(`wharf_deploy_events_refused_total{reason=%q}`, reason)).Get()
}

// publishEvent puts a message on deploy.events, as anyone who can reach
// nsqd can.
func (e *env) publishEvent(body []byte) {
	e.t.Helper()
	if err := e.prod.Publish(e.ctx, wire.TopicEvents, body); err != nil {
		e.t.Fatal(err)
	}
}

// signed is ev signed with key.
func signed(t *testing.T, ev wire.Event, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := wire.SignEvent(ev, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit changes fields of a JSON message.
func edit(t *testing.T, body []byte, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

// targetStates is host → state/progress of a deploy's targets.
func targetStates(v deploy.View) map[string]string {
	out := map[string]string{}
	for _, tg := range v.Targets {
		out[tg.Host] = fmt.Sprintf("%s/%s/%d", tg.State, tg.Progress, tg.TaskID)
	}
	return out
}

// TestForgedEventsAreRefused publishes, straight to nsqd, events that
// would move a running deploy — unsigned, signed by a stranger's key, by
// another host's key, tampered, with a real key id and a forged
// signature, of an unknown host — and checks that the deploy does not
// move, that each is counted by reason, and that the real agents' signed
// events still drive it to success; a replayed real event changes nothing.
func TestForgedEventsAreRefused(t *testing.T) {
	e := newEnv(t, envOptions{run: true})
	e.push("shop", "1.0.0")
	h1, h2 := e.startAgent("h1", "bj", healthy), e.startAgent("h2", "bj", healthy)
	h1.holdDeploys("1.0.0")
	h2.holdDeploys("1.0.0")
	d := e.deploy(`{"version":"1.0.0","targets":{"rooms":["bj"]},"max_unavailable":2}`)
	testenv.Eventually(t, 10*time.Second, func() error {
		if len(h1.gotFor(d.ID)) == 0 || len(h2.gotFor(d.ID)) == 0 {
			return fmt.Errorf("tasks not received yet: %v %v", h1.gotFor(d.ID), h2.gotFor(d.ID))
		}
		return nil
	})
	before := targetStates(e.show(d.ID))

	_, stranger, _ := ed25519.GenerateKey(nil)
	ev := func(host string, state wire.Phase) wire.Event {
		return wire.Event{DeployID: d.ID, TaskID: 1, Host: host, State: state, At: time.Now(), Msg: "forged"}
	}
	plain, _ := json.Marshal(ev("h1", wire.PhaseFailed))
	realDownloading := signed(t, ev("h1", wire.PhaseDownloading), h1.key)
	forgedSig := edit(t, signed(t, ev("h2", wire.PhaseHealthy), stranger), map[string]any{"key_id": wire.KeyID(h2.key.Public().(ed25519.PublicKey))})
	for _, body := range [][]byte{
		plain, // unsigned
		signed(t, ev("h1", wire.PhaseHealthy), stranger),             // wrong_key: a stranger's key
		signed(t, ev("h2", wire.PhaseFailed), h1.key),                // wrong_key: another host's key
		edit(t, realDownloading, map[string]any{"state": "healthy"}), // bad_signature: tampered
		edit(t, realDownloading, map[string]any{"host": "h2"}),       // wrong_key: moved to another host
		forgedSig, // bad_signature: h2's key id, a stranger's signature
		signed(t, ev("ghost", wire.PhaseHealthy), stranger), // unknown_host
	} {
		e.publishEvent(body)
	}
	want := map[string]uint64{"unsigned": 1, "wrong_key": 3, "bad_signature": 2, "unknown_host": 1}
	testenv.Eventually(t, 10*time.Second, func() error {
		for reason, n := range want {
			if got := e.refused(reason); got != n {
				return fmt.Errorf("refused{reason=%q} = %d, want %d; record %v", reason, got, n, targetStates(e.show(d.ID)))
			}
		}
		return nil
	})
	if after := targetStates(e.show(d.ID)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("forged events moved the deploy: %v, was %v", after, before)
	}

	// The real agents' signed events still count.
	h1.release()
	h2.release()
	v := e.waitState(d.ID, 10*time.Second, plan.StateSucceeded)
	for _, tg := range v.Targets {
		if tg.State != wire.PhaseHealthy {
			t.Fatalf("target %+v", tg)
		}
	}

	// Replaying real events (the agent's own healthy, and its earlier
	// downloading) changes nothing: a phase only moves forward.
	ignored := counter(e.set, `events_total{result="ignored"}`)
	e.publishEvent(signed(t, ev("h1", wire.PhaseHealthy), h1.key))
	e.publishEvent(realDownloading)
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := counter(e.set, `events_total{result="ignored"}`); n < ignored+2 {
			return fmt.Errorf("%d events ignored, want %d", n, ignored+2)
		}
		return nil
	})
	if got := targetStates(e.show(d.ID)); got["h1"] != "healthy/healthy/1" || got["h2"] != "healthy/healthy/1" {
		t.Fatalf("replays moved the deploy: %v", got)
	}
}

// TestUnsignedEventsOfAHostBoundWithoutKey is the compatibility rule: an
// agent of the previous release (no key in its heartbeat, unsigned
// events) still deploys, its events counted as unverified; once its
// host is bound with a key, unsigned events of the host are refused.
func TestUnsignedEventsOfAHostBoundWithoutKey(t *testing.T) {
	e := newEnv(t, envOptions{run: true})
	e.push("shop", "1.0.0")
	old := e.startAgentKeyed("h1", "bj", healthy, false)
	d := e.deploy(`{"version":"1.0.0","targets":{"hosts":["h1"]}}`)
	e.waitState(d.ID, 10*time.Second, plan.StateSucceeded)
	if n := e.set.GetOrCreateCounter("wharf_deploy_events_unverified_total").Get(); n == 0 {
		t.Fatal("unsigned events of a keyless host were not counted as unverified")
	}

	// The agent is upgraded: its heartbeat announces a key, which the
	// binding records; a forged unsigned event no longer counts.
	old.upgrade()
	old.heartbeat()
	e.push("shop", "2.0.0")
	old.holdDeploys("2.0.0")
	d2 := e.deploy(`{"version":"2.0.0","targets":{"hosts":["h1"]}}`)
	testenv.Eventually(t, 10*time.Second, func() error {
		if len(old.gotFor(d2.ID)) == 0 {
			return fmt.Errorf("task not received yet")
		}
		return nil
	})
	plain, _ := json.Marshal(wire.Event{DeployID: d2.ID, TaskID: 1, Host: "h1", State: wire.PhaseFailed, Msg: "forged"})
	e.publishEvent(plain)
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := e.refused("unsigned"); n != 1 {
			return fmt.Errorf("refused{unsigned} = %d", n)
		}
		return nil
	})
	old.release()
	if v := e.waitState(d2.ID, 10*time.Second, plan.StateSucceeded); v.Targets[0].State != wire.PhaseHealthy {
		t.Fatalf("target %+v", v.Targets[0])
	}
}
