package notifyplan

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// The life of a group with Alertmanager's defaults: group_wait 30s,
// group_interval 5m, repeat_interval 4h.
func TestGroupScheduleAsAlertmanager(t *testing.T) {
	t.Parallel()
	o := GroupOpts{GroupWait: 30 * time.Second, GroupInterval: 5 * time.Minute, RepeatInterval: 4 * time.Hour, SendResolved: true}
	g := Group{Key: `{}:{alertname="cpu"}`, Created: t0}
	a := Alert{ID: "s_1_a", StepKey: "PROBLEM.1.100", Firing: true, Start: t0}
	if due := NextFlush(g, []Alert{a}, o); !due.Equal(at(30 * time.Second)) {
		t.Fatalf("first flush due %s", due)
	}
	old := Alert{ID: "s_1_z", StepKey: "PROBLEM.1.1", Firing: true, Start: at(-time.Hour)}
	if due := NextFlush(g, []Alert{a, old}, o); !due.Equal(t0) {
		t.Fatalf("an old alert waits: due %s", due)
	}
	steps := []struct {
		now    time.Duration
		alerts []Alert
		want   Reason
		sends  int
	}{
		{30 * time.Second, []Alert{a}, ReasonFirst, 1},
		{5*time.Minute + 30*time.Second, []Alert{a}, ReasonNone, 0},
		{10*time.Minute + 30*time.Second, []Alert{a, {ID: "s_1_b", StepKey: "PROBLEM.1.200", Firing: true}}, ReasonNewAlerts, 2},
		{15*time.Minute + 30*time.Second, []Alert{a, {ID: "s_1_b", StepKey: "PROBLEM.2.260", Firing: true}}, ReasonNewAlerts, 2},
		{20*time.Minute + 30*time.Second, []Alert{a, {ID: "s_1_b", StepKey: "OK.1.300", Firing: false}}, ReasonNewResolved, 2},
		{25*time.Minute + 30*time.Second, []Alert{a, {ID: "s_1_b", StepKey: "OK.1.300", Firing: false}}, ReasonNone, 0},
		{4*time.Hour + 20*time.Minute + 30*time.Second, []Alert{a}, ReasonNone, 0}, // exactly repeat_interval: not yet (strictly after, as AM)
		{4*time.Hour + 25*time.Minute + 30*time.Second, []Alert{a}, ReasonRepeatElapsed, 1},
		{4*time.Hour + 30*time.Minute + 30*time.Second, []Alert{{ID: "s_1_a", StepKey: "OK.1.999", Firing: false}}, ReasonAllResolved, 1},
		{4*time.Hour + 35*time.Minute + 30*time.Second, []Alert{{ID: "s_1_a", StepKey: "OK.1.999", Firing: false}}, ReasonNone, 0},
		{4*time.Hour + 40*time.Minute + 30*time.Second, []Alert{a}, ReasonFirst, 1},
	}
	for i, s := range steps {
		if i > 0 {
			if due := NextFlush(g, s.alerts, o); !due.Equal(g.LastFlush.Add(o.GroupInterval)) || due.After(at(s.now)) {
				t.Fatalf("step %d: due %s, not group_interval after the last flush or after %s", i, due, at(s.now))
			}
		}
		f := Decide(g, s.alerts, o, at(s.now))
		if f.Reason != s.want || len(f.Alerts) != s.sends || f.Send() != (s.sends > 0) {
			t.Fatalf("step %d: %s with %d alerts, want %s with %d", i, f.Reason, len(f.Alerts), s.want, s.sends)
		}
		g = f.Next
	}
}

func TestAllResolvedWithoutSendResolvedSendsNothingButForgets(t *testing.T) {
	t.Parallel()
	o := GroupOpts{GroupWait: 0, GroupInterval: time.Minute, RepeatInterval: time.Hour}
	a := Alert{ID: "c", StepKey: "firing.1", Firing: true}
	f := Decide(Group{Created: t0}, []Alert{a}, o, t0)
	r := Alert{ID: "c", StepKey: "resolved.2"}
	f = Decide(f.Next, []Alert{r}, o, at(time.Minute))
	if f.Reason != ReasonAllResolved || f.Send() || len(f.Next.Sent.Firing) != 0 {
		t.Fatalf("%+v", f)
	}
	f = Decide(f.Next, []Alert{a}, o, at(2*time.Minute))
	if f.Reason != ReasonFirst || !f.Send() {
		t.Fatalf("refire: %+v", f)
	}
	if f := Decide(Group{Created: t0}, []Alert{r}, o, t0); f.Send() || f.Reason != ReasonNone {
		t.Fatalf("resolved only, never notified: %+v", f)
	}
}

func TestFalconPriorityCombine(t *testing.T) {
	t.Parallel()
	for p, want := range map[int]bool{0: true, 2: true, 3: false, 6: false} {
		if Immediate(p) != want {
			t.Errorf("Immediate(%d) = %v", p, !want)
		}
	}
	var c Combiner
	if !CombineDue(c, 0).IsZero() {
		t.Fatal("due with nothing pending")
	}
	c = AddCombined(c, Item{CaseID: "a", StepKey: "PROBLEM.1.1", At: at(0)})
	c = AddCombined(c, Item{CaseID: "a", StepKey: "PROBLEM.1.1", At: at(time.Second)})
	if len(c.Pending) != 1 || !CombineDue(c, 0).Equal(t0) {
		t.Fatalf("first item: %+v due %s", c, CombineDue(c, 0))
	}
	items, c := TakeCombined(c, 0, t0)
	if len(items) != 1 || !c.LastSent.Equal(t0) || len(c.Pending) != 0 {
		t.Fatalf("take: %v %+v", items, c)
	}
	c = AddCombined(c, Item{CaseID: "b", StepKey: "PROBLEM.1.2", At: at(10 * time.Second)})
	c = AddCombined(c, Item{CaseID: "c", StepKey: "PROBLEM.1.3", At: at(20 * time.Second)})
	if due := CombineDue(c, 0); !due.Equal(at(DefaultCombineInterval)) {
		t.Fatalf("due %s", due)
	}
	if items, _ := TakeCombined(c, 0, at(59*time.Second)); items != nil {
		t.Fatal("sent before the interval")
	}
	items, c = TakeCombined(c, 0, at(time.Minute))
	if len(items) != 2 || items[0].CaseID != "b" || items[1].CaseID != "c" {
		t.Fatalf("combined %v", items)
	}
}

func TestStormFoldsIntoADigest(t *testing.T) {
	t.Parallel()
	s := Storm{Limit: 2, Interval: time.Minute}
	var st StormState
	var sent []bool
	for i, id := range []string{"a", "b", "c", "d"} {
		var ok bool
		var d Digest
		st, ok, d = s.Admit(st, id, at(time.Duration(i)*time.Second))
		if d.Count != 0 {
			t.Fatalf("digest inside the window: %+v", d)
		}
		sent = append(sent, ok)
	}
	if !reflect.DeepEqual(sent, []bool{true, true, false, false}) || st.Folded != 2 {
		t.Fatalf("sent %v state %+v", sent, st)
	}
	if due := s.DigestDue(st); !due.Equal(at(time.Minute)) {
		t.Fatalf("digest due %s", due)
	}
	if _, d := s.TakeDigest(st, at(59*time.Second)); d.Count != 0 {
		t.Fatal("digest early")
	}
	st2, d := s.TakeDigest(st, at(time.Minute))
	if d.Count != 2 || !reflect.DeepEqual(d.IDs, []string{"c", "d"}) || st2.Folded != 0 || st2.Sent != 0 {
		t.Fatalf("digest %+v state %+v", d, st2)
	}
	// A message after the window closes brings the digest along.
	st3, ok, d := s.Admit(st, "e", at(2*time.Minute))
	if !ok || d.Count != 2 || st3.Sent != 1 {
		t.Fatalf("admit after window: %v %+v %+v", ok, d, st3)
	}
	if _, ok, _ := (Storm{}).Admit(StormState{}, "x", t0); !ok {
		t.Fatal("no limit folded")
	}
	big := StormState{WindowStart: t0, Sent: 2}
	for i := 0; i < MaxFoldedIDs+5; i++ {
		big, _, _ = s.Admit(big, "x", t0)
	}
	if big.Folded != MaxFoldedIDs+5 || len(big.FoldedIDs) != MaxFoldedIDs {
		t.Fatalf("folded %d ids %d", big.Folded, len(big.FoldedIDs))
	}
}
