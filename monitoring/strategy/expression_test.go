package strategy

import (
	"maps"
	"strings"
	"testing"
)

func TestParseExpression(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Expression
	}{
		{"each(metric=qps project=falcon)", Expression{Metric: "qps", Tags: map[string]string{"project": "falcon"}}},
		{"  each( metric=agent.alive   endpoint=docker-agent )", Expression{Metric: "agent.alive", Endpoint: "docker-agent", Tags: map[string]string{}}},
		{"each(project=falcon module=judge metric=qps)", Expression{Metric: "qps", Tags: map[string]string{"project": "falcon", "module": "judge"}}},
	}
	for _, tc := range good {
		e, err := ParseExpression(tc.in)
		if err != nil {
			t.Errorf("ParseExpression(%q): %v", tc.in, err)
			continue
		}
		if e.Metric != tc.want.Metric || e.Endpoint != tc.want.Endpoint || !maps.Equal(e.Tags, tc.want.Tags) {
			t.Errorf("ParseExpression(%q) = %+v, want %+v", tc.in, e, tc.want)
		}
	}
	bad := []struct{ in, msg string }{
		{"", "is not each("},
		{"qps", "is not each("},
		{"each(metric=qps project=falcon", "is not each("},
		{"all(metric=qps project=falcon)", "is not each("},
		{"each(metric=qps)", "at least one"},
		{"each()", "at least one"},
		{"each(project=falcon module=judge)", "needs metric"},
		{"each(metric=qps project)", "not key=value"},
		{"each(metric=qps =falcon)", "not key=value"},
		{"each(metric=qps project=)", "not key=value"},
		{"each(metric=qps a=b=c)", "not key=value"},
		{"each(metric=qps a=b,c)", "not key=value"},
		{"each(metric=qps metric=cpu)", "twice"},
		{"each(metric=qps a=(b))", "not key=value"},
	}
	for _, tc := range bad {
		_, err := ParseExpression(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseExpression(%q) error = %v, want one saying %q", tc.in, err, tc.msg)
		}
	}
}

func TestRunWindow(t *testing.T) {
	t.Parallel()
	clock := func(s string) int {
		m, err := ParseClock(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	day := RunWindow{Begin: clock("09:00"), End: clock("18:00")}
	night := RunWindow{Begin: clock("22:00"), End: clock("06:30")}
	minute := RunWindow{Begin: clock("12:00"), End: clock("12:00")}
	cases := []struct {
		w    RunWindow
		at   string
		want bool
	}{
		{day, "08:59", false}, {day, "09:00", true}, {day, "12:00", true}, {day, "18:00", true}, {day, "18:01", false},
		{night, "21:59", false}, {night, "22:00", true}, {night, "23:59", true}, {night, "00:00", true},
		{night, "06:30", true}, {night, "06:31", false}, {night, "12:00", false},
		{minute, "12:00", true}, {minute, "12:01", false}, {minute, "11:59", false},
		{noWindow, "03:17", true},
	}
	for _, tc := range cases {
		if got := tc.w.Active(clock(tc.at)); got != tc.want {
			t.Errorf("%+v.Active(%s) = %v, want %v", tc.w, tc.at, got, tc.want)
		}
	}
	for _, s := range []string{"", "9:00", "24:00", "12:60", "12-00", "ab:cd", "12:000", " 12:00"} {
		if _, err := ParseClock(s); err == nil {
			t.Errorf("ParseClock(%q) accepted", s)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p, n string
		want bool
	}{
		{"web-1", "web-1", true},
		{"web-1", "web-12", false},
		{"web-*", "web-12", true},
		{"web-*", "web-", true},
		{"web-*", "db-1", false},
		{"*", "", true},
		{"*", "anything", true},
		{"web-?", "web-1", true},
		{"web-?", "web-12", false},
		{"*.bj", "host1.bj", true},
		{"*.bj", "host1.sh", false},
		{"a*b*c", "a-b-b-c", true},
		{"a*b*c", "a-b-b-", false},
		{"", "", true},
		{"", "x", false},
	}
	for _, tc := range cases {
		if got := Glob(tc.p, tc.n); got != tc.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tc.p, tc.n, got, tc.want)
		}
	}
}
