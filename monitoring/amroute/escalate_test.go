package amroute

import (
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

func TestEscalateIsInheritedAndOverridden(t *testing.T) {
	t.Parallel()
	tree, err := Decode([]byte(`
receiver: chat
escalate: {receiver: boss, after: 15m}
routes:
- matchers: [team=shop]
  receiver: shop
- matchers: [team=ops]
  escalate: {receiver: pager, after: 90s, max_priority: 0}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	for ls, want := range map[string]Escalate{
		"shop":  {Receiver: "boss", After: 15 * time.Minute, MaxPriority: DefaultEscalateMaxPriority},
		"ops":   {Receiver: "pager", After: 90 * time.Second, MaxPriority: 0},
		"other": {Receiver: "boss", After: 15 * time.Minute, MaxPriority: DefaultEscalateMaxPriority},
	} {
		rs := tree.Match(labels.Set{"team": ls})
		if len(rs) != 1 || rs[0].Opts.Escalate != want {
			t.Errorf("team=%s: %+v, want %+v", ls, rs[0].Opts.Escalate, want)
		}
	}
	if got := tree.Receivers(); !slices.Equal(got, []string{"boss", "chat", "pager", "shop"}) {
		t.Fatalf("receivers %v (escalation receivers are used too)", got)
	}
}

func TestEscalateValidationNamesFields(t *testing.T) {
	t.Parallel()
	_, err := Decode([]byte(`
receiver: x
escalate: {after: soon, max_priority: 7}
routes:
- escalate: {receiver: ghost, after: 0s, max_priority: -1}
- escalate: {receiver: x}
`), func(n string) bool { return n == "x" })
	l, ok := err.(fielderr.List)
	if !ok {
		t.Fatalf("invalid escalations accepted: %v", err)
	}
	got := map[string]bool{}
	for _, e := range l {
		got[e.Field] = true
	}
	for _, f := range []string{"escalate.receiver", "escalate.after", "escalate.max_priority", "routes[0].escalate.receiver",
		"routes[0].escalate.after", "routes[0].escalate.max_priority", "routes[1].escalate.after"} {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, l)
		}
	}
	if len(l) != 7 {
		t.Errorf("%d errors, want 7: %v", len(l), l)
	}
	if _, err := Decode([]byte("receiver: x\nescalate: {receiver: x, after: 1m, bogus: 1}\n"), nil); err == nil {
		t.Fatal("unknown escalate field accepted")
	}
}
