package alarm

import (
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/labels"
)

func ev(status event.Status, step int, t int64) event.Event {
	return event.Event{
		Version: 1, ID: "s_42_abc", Status: status, CurrentStep: step, EventTime: t,
		StrategyID: "42", Team: "shop", Endpoint: "web-1", Metric: "cpu.busy", Priority: 1,
		PushedTags: map[string]string{"core": "0", "app": "cart", "team": "evil", "host-name": "h1"},
		Note:       "cpu busy",
	}
}

func TestEventLabels(t *testing.T) {
	t.Parallel()
	got := EventLabels(ev(event.Problem, 1, 100))
	want := labels.Set{
		"alertname": "42", "strategy": "42", "team": "shop", "app": "cart", "metric": "cpu.busy",
		"endpoint": "web-1", "priority": "1", "status": "PROBLEM", "core": "0", "tag_team": "evil", "host_name": "h1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("labels\n got %v\nwant %v", got, want)
	}
	id := IdentityLabels(ev(event.OK, 1, 100))
	if _, ok := id["status"]; ok || id.Fingerprint() != IdentityLabels(ev(event.Problem, 3, 200)).Fingerprint() {
		t.Fatal("identity labels depend on the status")
	}
}

func TestApplyTransitions(t *testing.T) {
	t.Parallel()
	steps := []struct {
		e     event.Event
		state State // "" = no change
	}{
		{ev(event.OK, 1, 50), ""},
		{ev(event.Problem, 1, 100), Opened},
		{ev(event.Problem, 2, 160), Stepped},
		{ev(event.Problem, 1, 100), ""}, // redelivered
		{ev(event.Problem, 3, 130), ""}, // older than the latest applied
		{ev(event.Problem, 3, 220), Stepped},
		{ev(event.OK, 1, 280), Resolved},
		{ev(event.OK, 1, 340), ""},
		{ev(event.NoData, 1, 400), NoData},
		{ev(event.NoData, 1, 460), ""},
		{ev(event.Problem, 1, 520), Opened},
	}
	var c Case
	for i, s := range steps {
		before := c.clone()
		next, changes := Apply(c, s.e)
		if !reflect.DeepEqual(c, before) {
			t.Fatalf("step %d: Apply changed its argument", i)
		}
		if s.state == "" {
			if len(changes) != 0 {
				t.Fatalf("step %d (%s): changes %v, want none", i, StepKey(s.e), changes)
			}
		} else if len(changes) != 1 || changes[0].State != s.state || changes[0].StepKey != StepKey(s.e) || next.State != s.state {
			t.Fatalf("step %d (%s): changes %v state %s, want %s", i, StepKey(s.e), changes, next.State, s.state)
		}
		again, changes2 := Apply(next, s.e)
		if len(changes2) != 0 || !reflect.DeepEqual(again, next) {
			t.Fatalf("step %d: applying %s twice is not a no-op", i, StepKey(s.e))
		}
		c = next
	}
	if c.StartsAt != time.Unix(520, 0).UTC() || !c.EndsAt.IsZero() || c.Step != 1 || c.Status() != "firing" {
		t.Fatalf("final case %+v", c)
	}
	kinds := []EntryKind{}
	for _, h := range c.History {
		kinds = append(kinds, h.Kind)
	}
	want := []EntryKind{EntryOpened, EntryStepped, EntryStepped, EntryResolved, EntryNoData, EntryOpened}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("history %v, want %v", kinds, want)
	}
	if other, ch := Apply(c, event.Event{ID: "s_1_x", Status: event.Problem, CurrentStep: 1, EventTime: 999}); ch != nil || !reflect.DeepEqual(other, c) {
		t.Fatal("an event of another case changed the case")
	}
}

func TestAckAndRecord(t *testing.T) {
	t.Parallel()
	c, _ := Apply(Case{}, ev(event.Problem, 1, 100))
	acked, ok := Ack(c, "ana", time.Unix(150, 0))
	if !ok || acked.AckedBy != "ana" || c.AckedBy != "" {
		t.Fatalf("ack: %v %+v", ok, acked)
	}
	if _, ok := Ack(acked, "bob", time.Unix(160, 0)); ok {
		t.Fatal("acked twice")
	}
	reopened, _ := Apply(acked, ev(event.Problem, 1, 900))
	if reopened.AckedBy != "" {
		t.Fatal("a new problem kept the old ack")
	}
	r := Record(c, Entry{Kind: EntryNotified, Receiver: "ops", Via: "webhook", Result: "200", Attempt: 1})
	if len(r.History) != len(c.History)+1 || r.History[len(r.History)-1].Receiver != "ops" {
		t.Fatal("Record")
	}
	for i := 0; i < MaxHistory+10; i++ {
		r = Record(r, Entry{Kind: EntryFailed})
	}
	if len(r.History) != MaxHistory {
		t.Fatalf("history grew to %d", len(r.History))
	}
}

func TestPostedAlertFingerprintIsAlertmanagers(t *testing.T) {
	t.Parallel()
	ls := labels.Set{"alertname": "HighLatency", "job": "api", "severity": "page"}
	ml := model.LabelSet{"alertname": "HighLatency", "job": "api", "severity": "page"}
	if PostedCaseID(ls) != "am_"+ml.Fingerprint().String() {
		t.Fatalf("%s vs am_%s", PostedCaseID(ls), ml.Fingerprint())
	}
}

func TestApplyPosted(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := PostedAlert{Labels: labels.Set{"alertname": "Up", "priority": "4"}, StartsAt: t0, GeneratorURL: "http://prom/graph"}
	c, ch := ApplyPosted(Case{}, a, t0.Add(time.Second), 0)
	if len(ch) != 1 || ch[0].State != Opened || c.Priority != 4 || c.ExpiresAt != t0.Add(time.Second+DefaultResolveTimeout) {
		t.Fatalf("open: %v %+v", ch, c)
	}
	a.EndsAt = t0.Add(10 * time.Minute)
	c2, ch := ApplyPosted(c, a, t0.Add(time.Minute), 0)
	if len(ch) != 0 || c2.ExpiresAt != a.EndsAt {
		t.Fatalf("re-post: %v %v", ch, c2.ExpiresAt)
	}
	if _, ch := Expire(c2, t0.Add(9*time.Minute)); len(ch) != 0 {
		t.Fatal("expired early")
	}
	c3, ch := Expire(c2, t0.Add(10*time.Minute))
	if len(ch) != 1 || ch[0].State != Resolved || c3.EndsAt != a.EndsAt || c3.Status() != "resolved" {
		t.Fatalf("expire: %v %+v", ch, c3)
	}
	if _, ch := ApplyPosted(c3, a, t0.Add(11*time.Minute), 0); len(ch) != 0 {
		t.Fatal("a resolved alert resolved twice")
	}
	bad := PostedAlert{Labels: labels.Set{"a-b": "x", "c": "\xff", "d": ""}, StartsAt: t0, EndsAt: t0.Add(-time.Second)}
	errs := bad.Validate()
	if len(errs) != 3 || errs[0].Field != "labels.a-b" || errs[2].Field != "endsAt" {
		t.Fatalf("validate: %v", errs)
	}
	if errs := (PostedAlert{}).Validate(); len(errs) != 1 || errs[0].Field != "labels" {
		t.Fatalf("validate empty: %v", errs)
	}
}
