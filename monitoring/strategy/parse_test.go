package strategy

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	s, c, err := Parse([]byte(`{"id":"a","metric":"cpu.idle","func":"all(#3)","operator":"<","right_value":10,"max_step":3,
		"recover":{"func":"avg(#3)","operator":">","right_value":20},"nodata":5}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "a" || !c.HasRecover || c.NoData != 5 {
		t.Errorf("parsed %+v %+v", s, c)
	}
	cases := []struct {
		body, field, msg string
	}{
		{`{"id":"a","metric":"m","func":"all(#3)","operator":"<","max_step":"3"}`, "max_step", "want a number, got string"},
		{`{"id":"a","metric":"m","func":"all(#3)","operator":"<","max_step":3,"tags":["x"]}`, "tags", "want an object"},
		{`{"id":"a","metric":"m","func":"all(#3)","operator":"<","max_step":3,"maxStep":3}`, "maxStep", "unknown field"},
		{`{"id":"a","id":"b","metric":"m","func":"all(#3)","operator":"<","max_step":3}`, "id", "duplicate key"},
		{`{"id":"a","metric":"m","func":"all(#3)","operator":"<","max_step":3} {}`, "(body)", "trailing"},
		{`[1]`, "(body)", "not a strategy"},
		{``, "(body)", "not a strategy"},
		{`{"id":"a","metric":"m","func":"all(#3)","operator":"<","max_step":0}`, "max_step", "1..1000"},
	}
	for _, tc := range cases {
		_, c, err := Parse([]byte(tc.body))
		if err == nil || c != nil {
			t.Errorf("Parse(%s) accepted", tc.body)
			continue
		}
		if got := fields(err); !slices.Equal(got, []string{tc.field}) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%s) = %v (fields %v), want field %s saying %q", tc.body, err, got, tc.field, tc.msg)
		}
	}
}
