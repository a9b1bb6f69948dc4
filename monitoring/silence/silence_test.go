package silence

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/labels"
)

func must(t *testing.T, s string) labels.Matchers {
	t.Helper()
	ms, err := labels.ParseMatchers(s)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestSilenceStatesAndMuting(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := Silence{ID: "s1", Matchers: must(t, `team=shop,priority=~"[0-2]"`), StartsAt: t0, EndsAt: t0.Add(2 * time.Hour), CreatedBy: "ana", Comment: "deploy"}
	ls := labels.Set{"team": "shop", "priority": "1", "alertname": "cpu"}
	cases := []struct {
		at    time.Time
		state State
		mutes bool
	}{
		{t0.Add(-time.Second), Pending, false},
		{t0, Active, true},
		{t0.Add(2*time.Hour - time.Nanosecond), Active, true},
		{t0.Add(2 * time.Hour), Expired, false},
	}
	for _, c := range cases {
		if s.State(c.at) != c.state || s.Mutes(ls, c.at) != c.mutes {
			t.Errorf("at %s: %s %v, want %s %v", c.at, s.State(c.at), s.Mutes(ls, c.at), c.state, c.mutes)
		}
	}
	other := Silence{ID: "s2", Matchers: must(t, `team=ops`), StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	if ids := Silenced([]Silence{other, s}, ls, t0.Add(time.Minute)); !reflect.DeepEqual(ids, []string{"s1"}) {
		t.Fatalf("silenced by %v", ids)
	}
	if ids := Silenced([]Silence{s}, labels.Set{"team": "shop", "priority": "4"}, t0.Add(time.Minute)); ids != nil {
		t.Fatalf("priority 4 silenced by %v", ids)
	}
	e, ok := Expire(s, t0.Add(time.Hour))
	if !ok || e.EndsAt != t0.Add(time.Hour) || e.State(t0.Add(time.Hour)) != Expired {
		t.Fatalf("expire active: %+v", e)
	}
	p, ok := Expire(s, t0.Add(-time.Hour))
	if !ok || p.StartsAt != t0.Add(-time.Hour) || p.EndsAt != p.StartsAt {
		t.Fatalf("expire pending: %+v", p)
	}
	if _, ok := Expire(e, t0.Add(3*time.Hour)); ok {
		t.Fatal("expired twice")
	}
}

func TestSilenceValidationAsAlertmanager(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := Silence{Matchers: must(t, `a=b`), StartsAt: t0, EndsAt: t0, CreatedBy: "ana"}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("valid silence refused: %v", errs)
	}
	cases := []struct {
		s     Silence
		field string
	}{
		{Silence{StartsAt: t0, EndsAt: t0, CreatedBy: "a"}, "matchers"},
		{Silence{Matchers: must(t, `a=""`), StartsAt: t0, EndsAt: t0, CreatedBy: "a"}, "matchers"},
		{Silence{Matchers: must(t, `a=~".*",b!="x"`), StartsAt: t0, EndsAt: t0, CreatedBy: "a"}, "matchers"},
		{Silence{Matchers: labels.Matchers{nil}, StartsAt: t0, EndsAt: t0, CreatedBy: "a"}, "matchers[0]"},
		{Silence{Matchers: must(t, `a=b`), EndsAt: t0, CreatedBy: "a"}, "startsAt"},
		{Silence{Matchers: must(t, `a=b`), StartsAt: t0, CreatedBy: "a"}, "endsAt"},
		{Silence{Matchers: must(t, `a=b`), StartsAt: t0, EndsAt: t0.Add(-time.Second), CreatedBy: "a"}, "endsAt"},
		{Silence{Matchers: must(t, `a=b`), StartsAt: t0, EndsAt: t0}, "createdBy"},
	}
	for i, c := range cases {
		errs := c.s.Validate()
		if len(errs) != 1 || errs[0].Field != c.field {
			t.Errorf("case %d: %v, want one error on %s", i, errs, c.field)
		}
	}
	// A matcher that matches the empty string is fine beside one that does not.
	mixed := Silence{Matchers: must(t, `a=~".*",b="x"`), StartsAt: t0, EndsAt: t0, CreatedBy: "a"}
	if errs := mixed.Validate(); len(errs) != 0 {
		t.Fatalf("mixed: %v", errs)
	}
}

func TestSilenceJSONIsTheAPIv2Form(t *testing.T) {
	t.Parallel()
	in := `{"id":"x","matchers":[{"name":"team","value":"shop","isRegex":false,"isEqual":true},{"name":"priority","value":"[0-2]","isRegex":true}],
"startsAt":"2026-03-01T12:00:00Z","endsAt":"2026-03-01T14:00:00Z","createdBy":"ana","comment":"deploy"}`
	var s Silence
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	if s.Matchers.String() != `{team="shop",priority=~"[0-2]"}` || s.CreatedBy != "ana" {
		t.Fatalf("%+v", s)
	}
	if err := json.Unmarshal([]byte(`{"matchers":[{"name":"a","value":"(","isRegex":true}]}`), &s); err == nil {
		t.Fatal("bad regex decoded")
	}
}

func TestInhibitionAsAlertmanager(t *testing.T) {
	t.Parallel()
	r, err := CompileInhibitRule(InhibitRuleConfig{
		SourceMatchers: []string{`severity="critical"`},
		TargetMatchers: []string{`severity="warning"`},
		Equal:          []string{"alertname", "cluster"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := []*InhibitRule{r}
	crit := labels.Set{"alertname": "Disk", "cluster": "eu", "severity": "critical"}
	warn := labels.Set{"alertname": "Disk", "cluster": "eu", "severity": "warning"}
	warnUS := labels.Set{"alertname": "Disk", "cluster": "us", "severity": "warning"}
	warnNoCluster := labels.Set{"alertname": "Disk", "severity": "warning"}
	critNoCluster := labels.Set{"alertname": "Disk", "severity": "critical"}
	if rr, i := Inhibited(rules, []labels.Set{crit, warn}, warn); rr != r || i != 0 {
		t.Fatal("warning not inhibited by its critical")
	}
	if rr, _ := Inhibited(rules, []labels.Set{crit}, warnUS); rr != nil {
		t.Fatal("inhibited across clusters")
	}
	if rr, _ := Inhibited(rules, []labels.Set{critNoCluster}, warnNoCluster); rr == nil {
		t.Fatal("absent equals absent")
	}
	if rr, _ := Inhibited(rules, nil, warn); rr != nil {
		t.Fatal("inhibited with no source firing")
	}
	if rr, _ := Inhibited(rules, []labels.Set{crit}, crit); rr != nil {
		t.Fatal("source inhibited itself")
	}
	// An alert matching both sides cannot be inhibited by another such alert.
	both, err := CompileInhibitRule(InhibitRuleConfig{SourceMatchers: []string{`team=shop`}, TargetMatchers: []string{`team=shop`}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := labels.Set{"team": "shop", "x": "1"}, labels.Set{"team": "shop", "x": "2"}
	if rr, _ := Inhibited([]*InhibitRule{both}, []labels.Set{a, b}, b); rr != nil {
		t.Fatal("two-sided match inhibited")
	}
	if _, err := CompileInhibitRule(InhibitRuleConfig{SourceMatchers: []string{`a=~"("`}, Equal: []string{"a-b"}}); err == nil ||
		err.Error() != "source_matchers[0]: cannot compile the regex of a: error parsing regexp: missing closing ): `^(?:()$`; target_matchers: at least one matcher is required; equal[0]: invalid label name \"a-b\"" {
		t.Fatalf("errors: %v", err)
	}
}
