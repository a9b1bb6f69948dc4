package strategy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FuncKind is one of Open-Falcon's judge functions.
type FuncKind uint8

// The functions, as Open-Falcon's judge (modules/judge/store/func.go).
const (
	All FuncKind = iota + 1
	Max
	Min
	Sum
	Avg
	Diff
	PDiff
	Lookup
	StdDev
	KDiff
	KPDiff
)

var funcNames = [...]string{
	All: "all", Max: "max", Min: "min", Sum: "sum", Avg: "avg", Diff: "diff",
	PDiff: "pdiff", Lookup: "lookup", StdDev: "stddev", KDiff: "kdiff", KPDiff: "kpdiff",
}

// String is the function's name.
func (k FuncKind) String() string {
	if k >= All && k <= KPDiff {
		return funcNames[k]
	}
	return "FuncKind(" + strconv.Itoa(int(k)) + ")"
}

// twoArgs reports whether the function takes "#N,M".
func (k FuncKind) twoArgs() bool { return k == Lookup || k == KDiff || k == KPDiff }

// MaxWindow bounds every "#N" (and N+M): the judge keeps that many points
// per series and strategy. Open-Falcon's judge keeps 11 by default
// ("remain"), so its functions never see more than 11 points.
const MaxWindow = 100

// Func is a parsed function: Kind with its arguments as written, "#A" or
// "#A,B". For lookup(#A,B) A is how many of the last B values must hold.
// For kdiff/kpdiff(#A,B), as in Falcon, the window is A+B values: each of
// the newest B values is compared with each of the oldest A values (the
// "stable" ones), and every difference must hold.
type Func struct {
	Kind FuncKind
	A, B int
}

// String is the function as written: "all(#3)", "lookup(#2,3)".
func (f Func) String() string {
	if f.Kind.twoArgs() {
		return fmt.Sprintf("%s(#%d,%d)", f.Kind, f.A, f.B)
	}
	return fmt.Sprintf("%s(#%d)", f.Kind, f.A)
}

// Values is how many values (GAUGE: raw points; COUNTER/DERIVE: rates)
// the function reads, as Falcon's HistoryData limit: #N for most, N+1 for
// diff and pdiff, B for lookup, A+B for kdiff and kpdiff.
func (f Func) Values() int {
	switch f.Kind {
	case Diff, PDiff:
		return f.A + 1
	case Lookup:
		return f.B
	case KDiff, KPDiff:
		return f.A + f.B
	}
	return f.A
}

// ParseFunc reads a function: name "(#" N [ "," M ] ")", e.g. "all(#3)",
// "lookup(#2,3)", "kdiff(#3,5)". Surrounding blanks are ignored; every
// argument is at least 1 and the window (Values) at most MaxWindow.
func ParseFunc(s string) (Func, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Func{}, errors.New("is empty; want e.g. all(#3)")
	}
	open := strings.IndexByte(s, '(')
	if open <= 0 || !strings.HasSuffix(s, ")") {
		return Func{}, fmt.Errorf("%q is not name(#N); want e.g. all(#3)", s)
	}
	var f Func
	name := s[:open]
	for k := All; k <= KPDiff; k++ {
		if funcNames[k] == name {
			f.Kind = k
		}
	}
	if f.Kind == 0 {
		return Func{}, fmt.Errorf("unknown function %q; want one of all, max, min, sum, avg, diff, pdiff, lookup, stddev, kdiff, kpdiff", name)
	}
	args := s[open+1 : len(s)-1]
	if !strings.HasPrefix(args, "#") {
		return Func{}, fmt.Errorf("%q: arguments must start with #, e.g. %s(#3)", s, name)
	}
	parts := strings.Split(args[1:], ",")
	want := 1
	if f.Kind.twoArgs() {
		want = 2
	}
	if len(parts) != want {
		return Func{}, fmt.Errorf("%q: %s takes %d argument(s)", s, name, want)
	}
	n := [2]int{}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 || v > MaxWindow {
			return Func{}, fmt.Errorf("%q: argument %q is not a whole number from 1 to %d", s, p, MaxWindow)
		}
		n[i] = v
	}
	f.A, f.B = n[0], n[1]
	if f.Kind == Lookup && f.A > f.B {
		return Func{}, fmt.Errorf("%q: lookup(#N,M) needs N <= M", s)
	}
	if f.Values() > MaxWindow {
		return Func{}, fmt.Errorf("%q: reads %d values, more than %d", s, f.Values(), MaxWindow)
	}
	return f, nil
}
