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
