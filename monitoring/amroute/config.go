package amroute

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// Limits on a tree, since trees come from API users.
const (
	MaxDepth  = 16
	MaxRoutes = 2000
	// MaxConfigBytes is the largest document Decode reads.
	MaxConfigBytes = 1 << 20
)

// GroupByAll is the group_by entry that groups by every label.
const GroupByAll = "..."

// Config is one route as written (YAML or JSON). Empty fields inherit the
// parent's value; the root's unset fields take Alertmanager's defaults.
type Config struct {
	Receiver string `yaml:"receiver,omitempty" json:"receiver,omitempty"`
	// GroupBy: nil inherits; [] groups everything of the route into one
	// group; ["..."] groups by all labels (every alert alone).
	GroupBy  []string `yaml:"group_by,omitempty" json:"group_by,omitempty"`
	Matchers []string `yaml:"matchers,omitempty" json:"matchers,omitempty"`
	Continue bool     `yaml:"continue,omitempty" json:"continue,omitempty"`
	// Durations in Prometheus' form: "30s", "5m", "4h", "1d", "1h30m".
	GroupWait      string `yaml:"group_wait,omitempty" json:"group_wait,omitempty"`
	GroupInterval  string `yaml:"group_interval,omitempty" json:"group_interval,omitempty"`
	RepeatInterval string `yaml:"repeat_interval,omitempty" json:"repeat_interval,omitempty"`
	// Escalate sends a case nobody acknowledged to a second receiver
	// (Wharf's, not Alertmanager's); nil inherits the parent's.
	Escalate *EscalateConfig `yaml:"escalate,omitempty" json:"escalate,omitempty"`
	Routes   []Config        `yaml:"routes,omitempty" json:"routes,omitempty"`
}

// EscalateConfig is a route's escalation as written: a firing case of
// priority ≤ MaxPriority that nobody acknowledged After its start goes to
// Receiver, once per problem.
type EscalateConfig struct {
	Receiver string `yaml:"receiver" json:"receiver"`
	// After is a duration in Prometheus' form ("15m").
	After string `yaml:"after" json:"after"`
	// MaxPriority is 0..6; nil: DefaultEscalateMaxPriority.
	MaxPriority *int `yaml:"max_priority,omitempty" json:"max_priority,omitempty"`
}

// DefaultEscalateMaxPriority is the max_priority of an escalation that
// sets none: the priorities Open-Falcon sends at once (0–2).
const DefaultEscalateMaxPriority = 2

// Decode reads a route tree from YAML or JSON (unknown fields refused) and
// compiles it with Compile. A syntax error comes back as a one-entry
// fielderr.List with field "" (the document); validation problems as a
// fielderr.List naming each field.
func Decode(b []byte, receiverExists func(string) bool) (*Route, error) {
	if len(b) > MaxConfigBytes {
		return nil, fielderr.List{{Field: "", Msg: "document larger than " + strconv.Itoa(MaxConfigBytes) + " bytes"}}
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fielderr.List{{Field: "", Msg: "empty document"}}
		}
		return nil, fielderr.List{{Field: "", Msg: "cannot parse route: " + err.Error()}}
	}
	return Compile(c, receiverExists)
}

// Compile validates c as a root route and builds the tree. receiverExists,
// when not nil, says whether a receiver name is known; an unknown one is
// a field error. On error the result is nil and the error a fielderr.List.
func Compile(c Config, receiverExists func(string) bool) (*Route, error) {
	var errs fielderr.List
	if c.Receiver == "" {
		errs.Add("receiver", "the root route must name a default receiver")
	}
	if len(c.Matchers) > 0 {
		errs.Add("matchers", "the root route must not have matchers (it is the fallback)")
	}
	if c.Continue {
		errs.Add("continue", "the root route cannot have continue")
	}
	count := 0
	r := compile(c, nil, "", 0, &count, receiverExists, &errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

func compile(c Config, parent *Route, path string, depth int, count *int, exists func(string) bool, errs *fielderr.List) *Route {
	*count++
	if *count > MaxRoutes {
		if *count == MaxRoutes+1 {
			errs.Add(path, fmt.Sprintf("more than %d routes", MaxRoutes))
		}
		return nil
	}
	r := &Route{parent: parent, Continue: c.Continue}
	if parent == nil {
		r.Opts = DefaultOpts()
	} else {
		r.Opts = parent.Opts
	}
	at := func(f string) string { return fielderr.Join(path, f) }
	if c.Receiver != "" {
		if exists != nil && !exists(c.Receiver) {
			errs.Add(at("receiver"), fmt.Sprintf("unknown receiver %q", c.Receiver))
		}
		r.Opts.Receiver = c.Receiver
	}
	if c.GroupBy != nil {
		r.Opts.GroupBy, r.Opts.GroupByAll = groupBy(c.GroupBy, at("group_by"), errs)
		r.Opts.GroupBySet = true
	}
	dur := func(s, field string, zeroOK bool, into *time.Duration) {
		if s == "" {
			return
		}
		d, err := model.ParseDuration(s)
		switch {
		case err != nil:
			errs.Add(at(field), fmt.Sprintf("invalid duration %q: want a number and a unit (ms, s, m, h, d, w, y), e.g. 30s", s))
		case d == 0 && !zeroOK:
			errs.Add(at(field), "cannot be zero")
		default:
			*into = time.Duration(d)
		}
	}
	dur(c.GroupWait, "group_wait", true, &r.Opts.GroupWait)
	dur(c.GroupInterval, "group_interval", false, &r.Opts.GroupInterval)
	dur(c.RepeatInterval, "repeat_interval", false, &r.Opts.RepeatInterval)
	if c.Escalate != nil {
		r.Opts.Escalate = escalate(*c.Escalate, at("escalate"), exists, errs)
	}
	for i, s := range c.Matchers {
		ms, err := labels.ParseMatchers(s)
		if err != nil {
			errs.Add(at(fmt.Sprintf("matchers[%d]", i)), err.Error())
			continue
		}
		r.Matchers = append(r.Matchers, ms...)
	}
	r.Matchers.Sort()
	if len(c.Routes) > 0 && depth+1 >= MaxDepth {
		errs.Add(at("routes"), fmt.Sprintf("routes nested deeper than %d", MaxDepth))
		return r
	}
	for i, cc := range c.Routes {
		child := compile(cc, r, at(fmt.Sprintf("routes[%d]", i)), depth+1, count, exists, errs)
		if child != nil {
			r.Routes = append(r.Routes, child)
		}
	}
	return r
}

func escalate(c EscalateConfig, path string, exists func(string) bool, errs *fielderr.List) Escalate {
	e := Escalate{Receiver: c.Receiver, MaxPriority: DefaultEscalateMaxPriority}
	at := func(f string) string { return fielderr.Join(path, f) }
	switch {
	case c.Receiver == "":
		errs.Add(at("receiver"), "required: the receiver an unacknowledged case escalates to")
	case exists != nil && !exists(c.Receiver):
		errs.Add(at("receiver"), fmt.Sprintf("unknown receiver %q", c.Receiver))
	}
	d, err := model.ParseDuration(c.After)
	switch {
	case c.After == "":
		errs.Add(at("after"), "required: how long after its start an unacknowledged case escalates, e.g. 15m")
	case err != nil:
		errs.Add(at("after"), fmt.Sprintf("invalid duration %q: want a number and a unit (ms, s, m, h, d, w, y), e.g. 15m", c.After))
	case d <= 0:
		errs.Add(at("after"), "must be more than zero")
	default:
		e.After = time.Duration(d)
	}
	if c.MaxPriority != nil {
		if p := *c.MaxPriority; p < 0 || p > 6 {
			errs.Add(at("max_priority"), fmt.Sprintf("must be 0..6 (a priority), not %d", p))
		} else {
			e.MaxPriority = p
		}
	}
	return e
}

func groupBy(names []string, path string, errs *fielderr.List) ([]string, bool) {
	seen := map[string]bool{}
	out := []string{}
	all := false
	for i, n := range names {
		switch {
		case n == GroupByAll:
			all = true
		case !labels.ValidName(n):
			errs.Add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("invalid label name %q", n))
		case seen[n]:
			errs.Add(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("duplicated label %q", n))
		default:
			seen[n] = true
			out = append(out, n)
		}
	}
	if all && len(names) > 1 {
		errs.Add(path, "cannot have the wildcard \"...\" and other labels at the same time")
	}
	if all {
		return nil, true
	}
	sort.Strings(out)
	return out, false
}
