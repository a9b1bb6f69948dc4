package strategy

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/monitoring/event"
)

// Limits of a strategy's fields.
const (
	MaxIDLen        = 64
	MaxNameLen      = 255 // metric, tag key, tag value, endpoint pattern
	MaxTags         = 32
	MaxEndpoints    = 1000
	MaxNoteLen      = 1024
	MaxMaxStep      = 1000
	MaxPriority     = 6
	MaxIntervalSecs = 30 * 24 * 3600
	MaxNoDataSteps  = 10000
)

// FieldError names the field of a Strategy that is wrong, as a JSON path
// ("recover.func", "tags.core", "endpoints[2]"), and why.
type FieldError struct{ Field, Msg string }

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Check is a parsed condition: function, operator and right value.
type Check struct {
	Func  Func
	Op    Operator
	Right float64
}

// TagPair is one tag a point must carry.
type TagPair struct{ Key, Value string }

// Compiled is a validated Strategy in the form the judge evaluates. It is
// immutable once returned by Compile; share it freely.
type Compiled struct {
	// Source is the strategy as given (Tags and Endpoints copied).
	Source Strategy
	// Prefix is the event ID prefix: event.PrefixStrategy or
	// event.PrefixExpression.
	Prefix string
	// Metric, Tags (sorted by key) and Endpoints (globs; none = any) select
	// the points judged.
	Metric    string
	Tags      []TagPair
	Endpoints []string
	// Fire is the alarm condition.
	Fire Check
	// Recover is the recovery condition when HasRecover.
	Recover    Check
	HasRecover bool
	// Window is how many raw points of a series the judge keeps: the
	// largest Values of Fire and Recover, plus one for COUNTER/DERIVE rates.
	Window int
	// Run is when the strategy is judged.
	Run RunWindow
	// MinInterval (seconds, default applied), RenotifyEvery (0: off),
	// RecoverAfter (at least 1) and NoData (steps, 0: off).
	MinInterval   int64
	RenotifyEvery int64
	RecoverAfter  int
	NoData        int
	MaxStep       int
}

// Compile validates s and returns its compiled form, or every problem
// found as *FieldError joined with errors.Join.
func Compile(s Strategy) (*Compiled, error) {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	c := &Compiled{Source: s, Prefix: event.PrefixStrategy, Run: noWindow}
	c.Source.Tags = cloneTags(s.Tags)
	c.Source.Endpoints = append([]string(nil), s.Endpoints...)

	if !validID(s.ID) {
		bad("id", "must be 1..%d letters, digits, '.' or '-', starting with a letter or digit", MaxIDLen)
	}
	switch {
	case s.Expression != "":
		if s.Metric != "" || len(s.Tags) > 0 || len(s.Endpoints) > 0 {
			bad("expression", "cannot be given with metric, tags or endpoints")
			break
		}
		e, err := ParseExpression(s.Expression)
		if err != nil {
			bad("expression", "%v", err)
			break
		}
		c.Prefix = event.PrefixExpression
		c.Metric = e.Metric
		c.Tags = sortedTags(e.Tags)
		if e.Endpoint != "" {
			c.Endpoints = []string{e.Endpoint}
		}
		checkName(bad, "expression", "metric", e.Metric)
		for _, t := range c.Tags {
			checkTag(bad, "expression", t.Key, t.Value)
		}
		if e.Endpoint != "" {
			checkName(bad, "expression", "endpoint", e.Endpoint)
		}
	case s.Metric == "":
		bad("metric", "is required (or give expression)")
	default:
		c.Metric = s.Metric
		checkName(bad, "metric", "metric", s.Metric)
		if len(s.Tags) > MaxTags {
			bad("tags", "has %d tags, at most %d", len(s.Tags), MaxTags)
		}
		c.Tags = sortedTags(s.Tags)
		for _, t := range c.Tags {
			checkTag(bad, "tags."+t.Key, t.Key, t.Value)
		}
		if len(s.Endpoints) > MaxEndpoints {
			bad("endpoints", "has %d patterns, at most %d", len(s.Endpoints), MaxEndpoints)
		}
		for i, p := range s.Endpoints {
			if p == "" || len(p) > MaxNameLen || strings.ContainsFunc(p, isBlankOrControl) {
				bad(fmt.Sprintf("endpoints[%d]", i), "must be 1..%d bytes without blanks", MaxNameLen)
			}
		}
		c.Endpoints = c.Source.Endpoints
	}

	c.Fire = compileCheck(bad, "", s.Func, s.Operator, s.RightValue)
	if s.Recover != nil {
		c.HasRecover = true
		c.Recover = compileCheck(bad, "recover.", s.Recover.Func, s.Recover.Operator, s.Recover.RightValue)
	}
	c.Window = max(c.Fire.Func.Values(), c.Recover.Func.Values()) + 1

	if s.MaxStep < 1 || s.MaxStep > MaxMaxStep {
		bad("max_step", "must be 1..%d", MaxMaxStep)
	}
	c.MaxStep = s.MaxStep
	if s.Priority < 0 || s.Priority > MaxPriority {
		bad("priority", "must be 0..%d", MaxPriority)
	}
	if len(s.Note) > MaxNoteLen {
		bad("note", "is %d bytes, at most %d", len(s.Note), MaxNoteLen)
	}
	switch {
	case s.RunBegin == "" && s.RunEnd == "":
	case s.RunBegin == "":
		bad("run_begin", "is required with run_end")
	case s.RunEnd == "":
		bad("run_end", "is required with run_begin")
	default:
		b, errB := ParseClock(s.RunBegin)
		if errB != nil {
			bad("run_begin", "%v", errB)
		}
		e, errE := ParseClock(s.RunEnd)
		if errE != nil {
			bad("run_end", "%v", errE)
		}
		c.Run = RunWindow{Begin: b, End: e}
	}
	c.MinInterval = s.MinInterval
	if s.MinInterval == 0 {
		c.MinInterval = DefaultMinInterval
	}
	if s.MinInterval < 0 || s.MinInterval > MaxIntervalSecs {
		bad("min_interval", "must be 0 (default %d) .. %d seconds", DefaultMinInterval, MaxIntervalSecs)
	}
	c.RenotifyEvery = s.RenotifyEvery
	if s.RenotifyEvery < 0 || s.RenotifyEvery > MaxIntervalSecs {
		bad("renotify_every", "must be 0 (off) .. %d seconds", MaxIntervalSecs)
	}
	c.RecoverAfter = max(s.RecoverAfter, 1)
	if s.RecoverAfter < 0 || s.RecoverAfter > MaxWindow {
		bad("recover_after", "must be 0 (off) .. %d evaluations", MaxWindow)
	}
	c.NoData = s.NoData
	if s.NoData < 0 || s.NoData > MaxNoDataSteps {
		bad("nodata", "must be 0 (off) .. %d steps", MaxNoDataSteps)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// compileCheck parses a function, operator and right value, reporting
// problems under prefix ("" or "recover.").
func compileCheck(bad func(string, string, ...any), prefix, fn, op string, right float64) Check {
	var ch Check
	f, err := ParseFunc(fn)
	if err != nil {
		bad(prefix+"func", "%v", err)
	}
	ch.Func = f
	if f.Kind == StdDev && op == "" {
		ch.Op = GT // ignored by stddev
	} else if o, err := ParseOperator(op); err != nil {
		bad(prefix+"operator", "%v", err)
	} else {
		ch.Op = o
	}
	if math.IsNaN(right) || math.IsInf(right, 0) {
		bad(prefix+"right_value", "must be a finite number")
	}
	ch.Right = right
	return ch
}

// Match reports whether a point of endpoint, metric and tags is judged by
// the strategy. It does not allocate.
func (c *Compiled) Match(endpoint, metric string, tags map[string]string) bool {
	if metric != c.Metric {
		return false
	}
	for _, t := range c.Tags {
		if v, ok := tags[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	if len(c.Endpoints) == 0 {
		return true
	}
	for _, p := range c.Endpoints {
		if Glob(p, endpoint) {
			return true
		}
	}
	return false
}

func checkName(bad func(string, string, ...any), field, what, v string) {
	if len(v) > MaxNameLen || strings.ContainsFunc(v, isBlankOrControl) {
		bad(field, "%s must be 1..%d bytes without blanks", what, MaxNameLen)
	}
}

func checkTag(bad func(string, string, ...any), field, k, v string) {
	if k == "" || v == "" || len(k) > MaxNameLen || len(v) > MaxNameLen ||
		strings.ContainsAny(k+v, "=,") || strings.ContainsFunc(k+v, isBlankOrControl) {
		bad(field, "key and value must be 1..%d bytes without blanks, '=' or ','", MaxNameLen)
	}
}

func isBlankOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// ValidID reports whether id is a valid strategy id: 1..MaxIDLen
// letters, digits, '.' or '-', starting with a letter or digit.
func ValidID(id string) bool { return validID(id) }

func validID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || (i > 0 && (c == '.' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

func sortedTags(m map[string]string) []TagPair {
	if len(m) == 0 {
		return nil
	}
	out := make([]TagPair, 0, len(m))
	for k, v := range m {
		out = append(out, TagPair{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func cloneTags(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
