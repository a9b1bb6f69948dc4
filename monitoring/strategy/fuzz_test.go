package strategy

import (
	"maps"
	"strings"
	"testing"
)

func FuzzParseFunc(f *testing.F) {
	for _, s := range []string{"all(#3)", "lookup(#2,3)", "kpdiff(#3,3)", "stddev(#10)", "diff(#", "max(#1,)", "sum(#99999999999999999999)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fn, err := ParseFunc(s)
		if err != nil {
			return
		}
		if fn.Values() < 1 || fn.Values() > MaxWindow {
			t.Fatalf("ParseFunc(%q) reads %d values", s, fn.Values())
		}
		again, err := ParseFunc(fn.String())
		if err != nil || again != fn {
			t.Fatalf("ParseFunc(%q) = %+v; its String %q parses to %+v, %v", s, fn, fn.String(), again, err)
		}
	})
}

func FuzzParseExpression(f *testing.F) {
	for _, s := range []string{"each(metric=qps project=falcon)", "each(metric=a endpoint=b)", "each(metric=qps)", "each(=)", "each(metric=a\tb=c)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpression(s)
		if err != nil {
			return
		}
		if e.Metric == "" || len(e.Tags)+btoi(e.Endpoint != "") < 1 {
			t.Fatalf("ParseExpression(%q) = %+v without metric or tag", s, e)
		}
		parts := []string{"metric=" + e.Metric}
		if e.Endpoint != "" {
			parts = append(parts, "endpoint="+e.Endpoint)
		}
		for k, v := range e.Tags {
			if strings.ContainsAny(k+v, "=, \t\n()") || k == "" || v == "" {
				t.Fatalf("ParseExpression(%q) kept tag %q=%q", s, k, v)
			}
			parts = append(parts, k+"="+v)
		}
		again, err := ParseExpression("each(" + strings.Join(parts, " ") + ")")
		if err != nil || again.Metric != e.Metric || again.Endpoint != e.Endpoint || !maps.Equal(again.Tags, e.Tags) {
			t.Fatalf("ParseExpression(%q) = %+v does not round-trip: %+v, %v", s, e, again, err)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"id":"a","metric":"m","func":"all(#3)","operator":"<","right_value":1,"max_step":3}`))
	f.Add([]byte(`{"id":"a","expression":"each(metric=qps project=x)","func":"lookup(#2,3)","operator":"==","max_step":1,"run_begin":"22:00","run_end":"06:00"}`))
	f.Add([]byte(`{"id":"a","metric":"m","func":"stddev(#5)","right_value":3,"max_step":3,"recover":{"func":"avg(#2)","operator":">","right_value":1}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, c, err := Parse(b)
		if err != nil {
			return
		}
		if c.Window < 2 || c.Window > MaxWindow+1 || c.MaxStep < 1 || c.RecoverAfter < 1 || c.MinInterval < 1 {
			t.Fatalf("Parse(%s) compiled to %+v", b, c)
		}
		if _, err := Compile(s); err != nil {
			t.Fatalf("Parse accepted %s but Compile refuses it: %v", b, err)
		}
		c.Match("e", c.Metric, nil)
	})
}
