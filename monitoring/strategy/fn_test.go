package strategy

import (
	"strings"
	"testing"
)

func TestParseFunc(t *testing.T) {
	t.Parallel()
	good := []struct {
		in     string
		want   Func
		values int
	}{
		{"all(#3)", Func{All, 3, 0}, 3},
		{" max(#1) ", Func{Max, 1, 0}, 1},
		{"min(#10)", Func{Min, 10, 0}, 10},
		{"sum(#5)", Func{Sum, 5, 0}, 5},
		{"avg(#100)", Func{Avg, 100, 0}, 100},
		{"diff(#3)", Func{Diff, 3, 0}, 4},
		{"pdiff(#2)", Func{PDiff, 2, 0}, 3},
		{"lookup(#2,3)", Func{Lookup, 2, 3}, 3},
		{"lookup(#3,3)", Func{Lookup, 3, 3}, 3},
		{"stddev(#10)", Func{StdDev, 10, 0}, 10},
		{"kdiff(#3,2)", Func{KDiff, 3, 2}, 5},
		{"kpdiff(#1,1)", Func{KPDiff, 1, 1}, 2},
	}
	for _, tc := range good {
		f, err := ParseFunc(tc.in)
		if err != nil {
			t.Errorf("ParseFunc(%q): %v", tc.in, err)
			continue
		}
		if f != tc.want || f.Values() != tc.values {
			t.Errorf("ParseFunc(%q) = %+v (values %d), want %+v (values %d)", tc.in, f, f.Values(), tc.want, tc.values)
		}
		if again, err := ParseFunc(f.String()); err != nil || again != f {
			t.Errorf("ParseFunc(%q.String()=%q) = %+v, %v", tc.in, f.String(), again, err)
		}
	}
	bad := []struct{ in, msg string }{
		{"", "empty"},
		{"all", "not name(#N)"},
		{"all#3", "not name(#N)"},
		{"(#3)", "not name(#N)"},
		{"median(#3)", "unknown function"},
		{"all(3)", "must start with #"},
		{"all(#)", "whole number"},
		{"all(#0)", "whole number"},
		{"all(#-1)", "whole number"},
		{"all(#101)", "whole number"},
		{"all(#3,4)", "takes 1"},
		{"lookup(#3)", "takes 2"},
		{"lookup(#4,3)", "N <= M"},
		{"kdiff(#60,50)", "more than 100"},
		{"diff(#100)", "more than 100"},
		{"all(#1e3)", "whole number"},
		{"ALL(#3)", "unknown function"},
	}
	for _, tc := range bad {
		_, err := ParseFunc(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ParseFunc(%q) error = %v, want one saying %q", tc.in, err, tc.msg)
		}
	}
}

func TestOperators(t *testing.T) {
	t.Parallel()
	cases := []struct {
		op          string
		left, right float64
		want        bool
	}{
		{"==", 90, 90, true},
		{"==", 90.00009, 90, true}, // within Falcon's tolerance
		{"==", 90.0002, 90, false},
		{"=", 5, 5, true},
		{"!=", 90.00009, 90, false},
		{"!=", 90.0002, 90, true},
		{"!=", 90.0001, 90, true}, // |d| = 0.0001000000000047748 > 0.0001 in doubles
		{"<", 1, 2, true},
		{"<", 2, 2, false},
		{"<=", 2, 2, true},
		{"<=", 3, 2, false},
		{">", 3, 2, true},
		{">", 2, 2, false},
		{">=", 2, 2, true},
		{">=", 1, 2, false},
	}
	for _, tc := range cases {
		o, err := ParseOperator(tc.op)
		if err != nil {
			t.Fatalf("ParseOperator(%q): %v", tc.op, err)
		}
		if got := o.Holds(tc.left, tc.right); got != tc.want {
			t.Errorf("%v %s %v = %v, want %v", tc.left, tc.op, tc.right, got, tc.want)
		}
	}
	for _, s := range []string{"", "=>", "<>", "===", " >", "gt"} {
		if _, err := ParseOperator(s); err == nil {
			t.Errorf("ParseOperator(%q) accepted", s)
		}
	}
	if Operator(0).Holds(1, 1) {
		t.Error("the zero Operator holds")
	}
}
