package strategy

import (
	"errors"
	"slices"
	"testing"
)

func valid() Strategy {
	return Strategy{ID: "cpu-1", Metric: "cpu.idle", Func: "all(#3)", Operator: "<", RightValue: 10, MaxStep: 3, Priority: 1}
}

func fields(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(e, &fe) {
			out = append(out, fe.Field)
		}
	}
	walk(err)
	slices.Sort(out)
	return out
}

func TestCompileDefaults(t *testing.T) {
	t.Parallel()
	c, err := Compile(valid())
	if err != nil {
		t.Fatal(err)
	}
	if c.MinInterval != DefaultMinInterval || c.RecoverAfter != 1 || c.RenotifyEvery != 0 || c.NoData != 0 || !c.Run.Always() || c.HasRecover {
		t.Errorf("defaults are not Falcon's: %+v", c)
	}
	if c.Window != 4 || c.Prefix != "s" {
		t.Errorf("window %d prefix %q, want 4 and s", c.Window, c.Prefix)
	}
	s := valid()
	s.Recover = &Condition{Func: "avg(#5)", Operator: ">", RightValue: 20}
	s.RunBegin, s.RunEnd = "22:00", "06:00"
	if c, err = Compile(s); err != nil {
		t.Fatal(err)
	}
	if c.Window != 6 || !c.HasRecover || c.Run != (RunWindow{Begin: 22 * 60, End: 6 * 60}) {
		t.Errorf("compiled %+v", c)
	}
	s = valid()
	s.Metric, s.Expression = "", "each(metric=qps project=falcon endpoint=web-1)"
	if c, err = Compile(s); err != nil {
		t.Fatal(err)
	}
	if c.Prefix != "e" || c.Metric != "qps" || !slices.Equal(c.Endpoints, []string{"web-1"}) || len(c.Tags) != 1 {
		t.Errorf("compiled expression %+v", c)
	}
	s = valid()
	s.Func, s.Operator, s.RightValue = "stddev(#5)", "", 3
	if _, err = Compile(s); err != nil {
		t.Errorf("stddev without operator: %v", err)
	}
}

func TestCompileFieldErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		edit   func(*Strategy)
		fields []string
	}{
		{"no id", func(s *Strategy) { s.ID = "" }, []string{"id"}},
		{"id with underscore", func(s *Strategy) { s.ID = "a_b" }, []string{"id"}},
		{"id with slash", func(s *Strategy) { s.ID = "a/b" }, []string{"id"}},
		{"no metric", func(s *Strategy) { s.Metric = "" }, []string{"metric"}},
		{"metric with blank", func(s *Strategy) { s.Metric = "cpu idle" }, []string{"metric"}},
		{"bad tag", func(s *Strategy) { s.Tags = map[string]string{"a": "b,c"} }, []string{"tags.a"}},
		{"empty tag value", func(s *Strategy) { s.Tags = map[string]string{"a": ""} }, []string{"tags.a"}},
		{"empty endpoint", func(s *Strategy) { s.Endpoints = []string{"web-*", ""} }, []string{"endpoints[1]"}},
		{"expression and metric", func(s *Strategy) { s.Expression = "each(metric=qps a=b)" }, []string{"expression"}},
		{"bad expression", func(s *Strategy) { s.Metric, s.Expression = "", "each(metric=qps)" }, []string{"expression"}},
		{"bad func", func(s *Strategy) { s.Func = "median(#3)" }, []string{"func"}},
		{"no func", func(s *Strategy) { s.Func = "" }, []string{"func"}},
		{"bad operator", func(s *Strategy) { s.Operator = "=>" }, []string{"operator"}},
		{"no operator", func(s *Strategy) { s.Operator = "" }, []string{"operator"}},
		{"max_step 0", func(s *Strategy) { s.MaxStep = 0 }, []string{"max_step"}},
		{"priority 7", func(s *Strategy) { s.Priority = 7 }, []string{"priority"}},
		{"priority -1", func(s *Strategy) { s.Priority = -1 }, []string{"priority"}},
		{"run_begin alone", func(s *Strategy) { s.RunBegin = "09:00" }, []string{"run_end"}},
		{"run_end alone", func(s *Strategy) { s.RunEnd = "09:00" }, []string{"run_begin"}},
		{"bad clocks", func(s *Strategy) { s.RunBegin, s.RunEnd = "9:00", "25:00" }, []string{"run_begin", "run_end"}},
		{"min_interval", func(s *Strategy) { s.MinInterval = -1 }, []string{"min_interval"}},
		{"renotify_every", func(s *Strategy) { s.RenotifyEvery = -5 }, []string{"renotify_every"}},
		{"recover_after", func(s *Strategy) { s.RecoverAfter = 1000 }, []string{"recover_after"}},
		{"nodata", func(s *Strategy) { s.NoData = -1 }, []string{"nodata"}},
		{"recover", func(s *Strategy) { s.Recover = &Condition{Func: "all(3)", Operator: "~"} }, []string{"recover.func", "recover.operator"}},
		{"many", func(s *Strategy) { s.ID, s.Func, s.Priority = "", "x", 9 }, []string{"func", "id", "priority"}},
	}
	for _, tc := range cases {
		s := valid()
		tc.edit(&s)
		c, err := Compile(s)
		if err == nil || c != nil {
			t.Errorf("%s: Compile accepted %+v", tc.name, s)
			continue
		}
		if got := fields(err); !slices.Equal(got, tc.fields) {
			t.Errorf("%s: fields %v, want %v (%v)", tc.name, got, tc.fields, err)
		}
	}
}

func TestMatch(t *testing.T) {
	s := valid()
	s.Tags = map[string]string{"core": "0"}
	s.Endpoints = []string{"web-*", "db-1"}
	c, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Tags["core"] = "changed after Compile" // Compile copied the map
	cases := []struct {
		ep, metric string
		tags       map[string]string
		want       bool
	}{
		{"web-1", "cpu.idle", map[string]string{"core": "0"}, true},
		{"web-1", "cpu.idle", map[string]string{"core": "0", "extra": "x"}, true},
		{"db-1", "cpu.idle", map[string]string{"core": "0"}, true},
		{"db-2", "cpu.idle", map[string]string{"core": "0"}, false},
		{"web-1", "cpu.busy", map[string]string{"core": "0"}, false},
		{"web-1", "cpu.idle", map[string]string{"core": "1"}, false},
		{"web-1", "cpu.idle", nil, false},
	}
	for _, tc := range cases {
		if got := c.Match(tc.ep, tc.metric, tc.tags); got != tc.want {
			t.Errorf("Match(%s, %s, %v) = %v, want %v", tc.ep, tc.metric, tc.tags, got, tc.want)
		}
	}
	e := valid()
	e.Metric, e.Expression = "", "each(metric=qps project=falcon endpoint=web-1)"
	ce, err := Compile(e)
	if err != nil {
		t.Fatal(err)
	}
	if !ce.Match("web-1", "qps", map[string]string{"project": "falcon", "endpoint": "other"}) {
		t.Error("expression endpoint= must compare the point's endpoint, not a pushed endpoint tag")
	}
	if ce.Match("web-2", "qps", map[string]string{"project": "falcon"}) {
		t.Error("expression matched another endpoint")
	}
	if n := testing.AllocsPerRun(100, func() { c.Match("web-1", "cpu.idle", map[string]string(nil)) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
}
