package notify_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// A firing step whose first attempt failed comes due again after its case
// resolved (and the resolution went out): it is not sent — the receiver
// would read the alarm as firing again — and is recorded as superseded
// in the claim and the case history. Before, the retry was sent after the
// resolution.
func TestRetriedFiringAfterResolutionSuperseded(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "ops", Team: "shop", Kind: receiver.KindWebhook, URL: h.srv.URL})
	// The retry of the firing is due 1–2 s after its failure.
	e.start("a", notify.Options{RetryMin: 2 * time.Second, RetryMax: 2 * time.Second})
	at := time.Now().Unix() - 600
	problem, ok := judgeEvent(4, event.Problem, 1, at), judgeEvent(4, event.OK, 1, at+60)
	pKey := receiver.IdempotencyKey(problem.ID, alarm.StepKey(problem), "ops")
	okKey := receiver.IdempotencyKey(ok.ID, alarm.StepKey(ok), "ops")
	h.down.Store(true)
	e.publishEvents(problem)
	testenv.Eventually(t, 10*time.Second, func() error {
		if h.requestsOf(pKey) == 0 {
			return fmt.Errorf("the firing was not attempted yet")
		}
		return nil
	})
	h.down.Store(false)
	e.publishEvents(ok)
	waitDelivered(t, h, map[string]bool{okKey: true}, 10*time.Second)
	testenv.Eventually(t, 10*time.Second, func() error {
		if c := e.claim(pKey); c.State != wire.ClaimSuperseded {
			return fmt.Errorf("the firing's claim is %q, want superseded", c.State)
		}
		return nil
	})
	h.mu.Lock()
	sent := h.ok[pKey]
	h.mu.Unlock()
	if sent != 0 {
		t.Fatalf("the firing was sent %d times after its resolution", sent)
	}
	found := false
	for _, en := range e.readCase(problem.ID).History {
		found = found || (en.Kind == alarm.EntrySuperseded && en.StepKey == alarm.StepKey(problem))
	}
	if !found {
		t.Fatalf("no superseded entry in the history: %+v", e.readCase(problem.ID).History)
	}
}
