package notifyplan

import (
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
)

func TestEscalationDue(t *testing.T) {
	t.Parallel()
	c, _ := alarm.Apply(alarm.Case{}, event.Event{ID: "s_1_a", Status: event.Problem, CurrentStep: 1, EventTime: t0.Unix(), StrategyID: "1", Priority: 1})
	e := Escalation{Receiver: "boss", MaxPriority: 1, After: 15 * time.Minute}
	if due := EscalationDue(c, e); !due.Equal(t0.Add(15 * time.Minute)) {
		t.Fatalf("due %s", due)
	}
	acked, _ := alarm.Ack(c, "ana", t0.Add(time.Minute))
	low := c
	low.Priority = 2
	resolved, _ := alarm.Apply(c, event.Event{ID: "s_1_a", Status: event.OK, CurrentStep: 1, EventTime: t0.Unix() + 60, StrategyID: "1", Priority: 1})
	for name, x := range map[string]alarm.Case{"acked": acked, "low": low, "resolved": resolved} {
		if !EscalationDue(x, e).IsZero() {
			t.Errorf("%s escalates", name)
		}
	}
	if !EscalationDue(c, Escalation{}).IsZero() {
		t.Fatal("no escalation set, still escalates")
	}
}

func TestEscalationCancelled(t *testing.T) {
	t.Parallel()
	c, _ := alarm.Apply(alarm.Case{}, event.Event{ID: "s_1_a", Status: event.Problem, CurrentStep: 1, EventTime: t0.Unix(), StrategyID: "1", Priority: 1})
	key := EscalationStepKey(c)
	if !IsEscalation(key) || IsEscalation(c.StepKey) {
		t.Fatalf("IsEscalation of %q / %q", key, c.StepKey)
	}
	stepped, _ := alarm.Apply(c, event.Event{ID: "s_1_a", Status: event.Problem, CurrentStep: 2, EventTime: t0.Unix() + 60, StrategyID: "1", Priority: 1})
	if EscalationStepKey(stepped) != key {
		t.Fatal("a step of the same problem has another escalation key")
	}
	if why := EscalationCancelled(stepped, key); why != "" {
		t.Fatalf("a stepped unacknowledged case does not escalate: %s", why)
	}
	acked, _ := alarm.Ack(stepped, "ana", t0.Add(2*time.Minute))
	resolved, _ := alarm.Apply(stepped, event.Event{ID: "s_1_a", Status: event.OK, CurrentStep: 2, EventTime: t0.Unix() + 120, StrategyID: "1", Priority: 1})
	reopened, _ := alarm.Apply(resolved, event.Event{ID: "s_1_a", Status: event.Problem, CurrentStep: 1, EventTime: t0.Unix() + 180, StrategyID: "1", Priority: 1})
	for name, x := range map[string]alarm.Case{"acked": acked, "resolved": resolved, "reopened": reopened} {
		if EscalationCancelled(x, key) == "" {
			t.Errorf("%s: still escalates", name)
		}
	}
	if EscalationStepKey(reopened) == key || EscalationCancelled(reopened, EscalationStepKey(reopened)) != "" {
		t.Fatal("the next problem does not escalate on its own key")
	}
}
