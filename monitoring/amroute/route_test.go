package amroute

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// amTree is the tree of Alertmanager's dispatch TestRouteMatch, written
// with matchers instead of the deprecated match/match_re.
const amTree = `
receiver: 'notify-def'
routes:
- matchers: ['owner="team-A"']
  receiver: 'notify-A'
  routes:
  - matchers: ['env="testing"']
    receiver: 'notify-testing'
    group_by: [...]
  - matchers: ['env="production"']
    receiver: 'notify-productionA'
    group_wait: 1m
    continue: true
  - matchers: ['env=~"produ.*"', 'job=~".*"']
    receiver: 'notify-productionB'
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: ['job']
- matchers: ['owner=~"team-(B|C)"']
  group_by: ['foo', 'bar']
  group_wait: 2m
  receiver: 'notify-BC'
- matchers: ['group_by="role"']
  group_by: ['role']
  routes:
  - matchers: ['env="testing"']
    receiver: 'notify-testing'
    routes:
    - matchers: ['wait="long"']
      group_wait: 2m
`

func TestMatchAsAlertmanagersDispatcher(t *testing.T) {
	t.Parallel()
	tree, err := Decode([]byte(amTree), nil)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultOpts()
	type want struct {
		recv    string
		groupBy []string
		all     bool
		wait    time.Duration
		repeat  time.Duration
		key     string
	}
	cases := []struct {
		in   labels.Set
		want []want
	}{
		{labels.Set{"owner": "team-A"}, []want{{"notify-A", []string{}, false, def.GroupWait, def.RepeatInterval, `{}/{owner="team-A"}`}}},
		{labels.Set{"owner": "team-A", "env": "unset"}, []want{{"notify-A", []string{}, false, def.GroupWait, def.RepeatInterval, `{}/{owner="team-A"}`}}},
		{labels.Set{"owner": "team-C"}, []want{{"notify-BC", []string{"bar", "foo"}, false, 2 * time.Minute, def.RepeatInterval, `{}/{owner=~"team-(B|C)"}`}}},
		{labels.Set{"owner": "team-A", "env": "testing"}, []want{{"notify-testing", nil, true, def.GroupWait, def.RepeatInterval, `{}/{owner="team-A"}/{env="testing"}`}}},
		{labels.Set{"owner": "team-A", "env": "production"}, []want{
			{"notify-productionA", []string{}, false, time.Minute, def.RepeatInterval, `{}/{owner="team-A"}/{env="production"}`},
			{"notify-productionB", []string{"job"}, false, 30 * time.Second, time.Hour, `{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}`},
		}},
		{labels.Set{"group_by": "role"}, []want{{"notify-def", []string{"role"}, false, def.GroupWait, def.RepeatInterval, `{}/{group_by="role"}`}}},
		{labels.Set{"env": "testing", "group_by": "role"}, []want{{"notify-testing", []string{"role"}, false, def.GroupWait, def.RepeatInterval, `{}/{group_by="role"}/{env="testing"}`}}},
		{labels.Set{"env": "testing", "group_by": "role", "wait": "long"}, []want{{"notify-testing", []string{"role"}, false, 2 * time.Minute, def.RepeatInterval, `{}/{group_by="role"}/{env="testing"}/{wait="long"}`}}},
		{labels.Set{"owner": "nobody"}, []want{{"notify-def", []string{}, false, def.GroupWait, def.RepeatInterval, `{}`}}},
	}
	for _, c := range cases {
		got := tree.Match(c.in)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d routes, want %d", c.in, len(got), len(c.want))
		}
		for i, w := range c.want {
			r := got[i]
			if r.Opts.Receiver != w.recv || !reflect.DeepEqual(r.Opts.GroupBy, w.groupBy) || r.Opts.GroupByAll != w.all ||
				r.Opts.GroupWait != w.wait || r.Opts.RepeatInterval != w.repeat || r.Key() != w.key {
				t.Errorf("%s route %d: %+v key %s, want %+v", c.in, i, r.Opts, r.Key(), w)
			}
		}
	}
	if got := tree.Receivers(); !reflect.DeepEqual(got, []string{"notify-A", "notify-BC", "notify-def", "notify-productionA", "notify-productionB", "notify-testing"}) {
		t.Fatalf("receivers %v", got)
	}
}

func TestGroupKeyAndLabels(t *testing.T) {
	t.Parallel()
	tree, err := Decode([]byte(`{"receiver":"r","group_by":["alertname","team"],"routes":[{"matchers":["team=shop"],"receiver":"s"},{"matchers":["team=ops"],"group_by":["..."]}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ls := labels.Set{"alertname": "cpu", "team": "shop", "endpoint": "web-1"}
	r := tree.Match(ls)[0]
	if k := r.GroupKey(ls); k != `{}/{team="shop"}:{alertname="cpu", team="shop"}` {
		t.Fatalf("group key %s", k)
	}
	ops := labels.Set{"team": "ops", "endpoint": "db-1"}
	r = tree.Match(ops)[0]
	if !reflect.DeepEqual(r.GroupLabels(ops), ops) || r.Opts.Receiver != "r" {
		t.Fatalf("group by all: %v %s", r.GroupLabels(ops), r.Opts.Receiver)
	}
	if !r.Opts.GroupBySet || DefaultOpts().GroupBySet {
		t.Fatal("GroupBySet")
	}
	if r.ID() != `{}/{team="ops"}/1` {
		t.Fatalf("id %s", r.ID())
	}
	if k := tree.GroupKey(labels.Set{"x": "y"}); k != `{}:{}` {
		t.Fatalf("root group key %s", k)
	}
}

func TestValidationNamesFields(t *testing.T) {
	t.Parallel()
	doc := `
matchers: [a=b]
continue: true
group_interval: 0s
routes:
- receiver: x
- matchers: ['a="b"', 'c=~"("']
  group_by: [a, a, '...', 'b-c']
  group_wait: soon
  repeat_interval: 0
  routes:
  - receiver: ghost
`
	_, err := Decode([]byte(doc), func(n string) bool { return n == "x" })
	var l fielderr.List
	if err == nil {
		t.Fatal("invalid tree accepted")
	}
	l = err.(fielderr.List)
	got := map[string]bool{}
	for _, e := range l {
		got[e.Field] = true
	}
	for _, f := range []string{"receiver", "matchers", "continue", "group_interval", "routes[1].matchers[1]", "routes[1].group_by[1]",
		"routes[1].group_by", "routes[1].group_by[3]", "routes[1].group_wait", "routes[1].repeat_interval", "routes[1].routes[0].receiver"} {
		if !got[f] {
			t.Errorf("no error for %s in %v", f, l)
		}
	}
	for _, bad := range []string{"", "receiver: [", "receiver: r\nbogus: 1", strings.Repeat(" ", MaxConfigBytes+1)} {
		_, err := Decode([]byte(bad), nil)
		if l, ok := err.(fielderr.List); !ok || len(l) != 1 || l[0].Field != "" {
			t.Errorf("%.20q: %v", bad, err)
		}
	}
	deep := "receiver: r\n"
	for i := 0; i < MaxDepth+1; i++ {
		deep += strings.Repeat("  ", i) + "routes:\n" + strings.Repeat("  ", i) + "- receiver: r\n"
	}
	if _, err := Decode([]byte(deep), nil); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("deep tree: %v", err)
	}
}

func TestVersionedNext(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v := Versioned{}.Next(Config{Receiver: "a"}, "ana", at, "first")
	v2 := v.Next(Config{Receiver: "b"}, "bob", at.Add(time.Hour), "")
	if v.Version != 1 || v2.Version != 2 || v2.UpdatedBy != "bob" || v2.Config.Receiver != "b" || v.Config.Receiver != "a" {
		t.Fatalf("%+v %+v", v, v2)
	}
}

// The tree and the group keys of Alertmanager's dispatch TestGroups.
func TestGroupKeysAsAlertmanagersTestGroups(t *testing.T) {
	t.Parallel()
	tree, err := Decode([]byte(`receiver: 'prod'
group_by: ['alertname']
group_wait: 10ms
group_interval: 10ms
routes:
- matchers: ['env="testing"']
  receiver: 'testing'
  group_by: ['alertname', 'service']
- matchers: ['env="prod"']
  receiver: 'prod'
  group_by: ['alertname', 'service', 'cluster']
  continue: true
- matchers: ['kafka="yes"']
  receiver: 'kafka'
  group_by: ['alertname', 'service', 'cluster']
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   labels.Set
		want []string // receiver + " " + group key
	}{
		{labels.Set{"alertname": "OtherAlert", "cluster": "cc", "service": "dd"}, []string{`prod {}:{alertname="OtherAlert"}`}},
		{labels.Set{"env": "testing", "alertname": "TestingAlert", "service": "api", "instance": "inst1"}, []string{`testing {}/{env="testing"}:{alertname="TestingAlert", service="api"}`}},
		{labels.Set{"env": "prod", "alertname": "HighErrorRate", "cluster": "aa", "service": "api", "instance": "inst1"}, []string{`prod {}/{env="prod"}:{alertname="HighErrorRate", cluster="aa", service="api"}`}},
		{labels.Set{"env": "prod", "alertname": "HighErrorRate", "cluster": "bb", "service": "api", "instance": "inst1"}, []string{`prod {}/{env="prod"}:{alertname="HighErrorRate", cluster="bb", service="api"}`}},
		{labels.Set{"env": "prod", "alertname": "HighLatency", "cluster": "bb", "service": "db", "kafka": "yes", "instance": "inst3"}, []string{
			`prod {}/{env="prod"}:{alertname="HighLatency", cluster="bb", service="db"}`,
			`kafka {}/{kafka="yes"}:{alertname="HighLatency", cluster="bb", service="db"}`,
		}},
	}
	for _, c := range cases {
		var got []string
		for _, r := range tree.Match(c.in) {
			got = append(got, r.Opts.Receiver+" "+r.GroupKey(c.in))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestMatchAppendDoesNotAllocate(t *testing.T) {
	tree, err := Decode([]byte(amTree), nil)
	if err != nil {
		t.Fatal(err)
	}
	ls := labels.Set{"owner": "team-A", "env": "production", "job": "x"}
	dst := make([]*Route, 0, 4)
	if n := testing.AllocsPerRun(100, func() { dst = tree.MatchAppend(dst[:0], ls) }); n != 0 || len(dst) != 2 {
		t.Fatalf("%v allocations, %d routes", n, len(dst))
	}
	if got := tree.MatchAppend([]*Route{tree}, labels.Set{"owner": "team-C"}); len(got) != 2 || got[1].Opts.Receiver != "notify-BC" {
		t.Fatalf("append to a non-empty dst: %v", got)
	}
}
