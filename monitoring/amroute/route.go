package amroute

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/monitoring/labels"
)

// Opts are a route's effective settings, after inheritance.
type Opts struct {
	Receiver string
	// GroupBy is sorted; ignored when GroupByAll.
	GroupBy    []string
	GroupByAll bool
	// GroupBySet is true when this route or an ancestor sets group_by.
	// Judge cases on a route without it are sent one per step (Falcon's
	// way: priority 0–2 at once, 3–6 combined); with it, by the group
	// schedule (see docs/monitoring-alarms-design.md).
	GroupBySet     bool
	GroupWait      time.Duration
	GroupInterval  time.Duration
	RepeatInterval time.Duration
	// Escalate is the route's escalation; zero Receiver: none.
	Escalate Escalate
}

// Escalate is a compiled escalation (see EscalateConfig).
type Escalate struct {
	Receiver    string
	After       time.Duration
	MaxPriority int
}

// DefaultOpts returns Alertmanager's defaults for the root route: no
// grouping labels, group_wait 30s, group_interval 5m, repeat_interval 4h.
func DefaultOpts() Opts {
	return Opts{
		GroupBy:        []string{},
		GroupWait:      30 * time.Second,
		GroupInterval:  5 * time.Minute,
		RepeatInterval: 4 * time.Hour,
	}
}

// Route is a compiled route. Build it with Compile or Decode.
type Route struct {
	Opts     Opts
	Matchers labels.Matchers // sorted, as Alertmanager's
	Continue bool
	Routes   []*Route

	parent *Route
}

// Match returns the routes an alert with labels ls goes to, in order:
// Alertmanager's dispatcher semantics. A route that matches tries its
// children in order; a child's matches are taken and the search stops
// there unless that child has continue; when no child matches the route
// itself is the match. The root always matches (it has no matchers).
func (r *Route) Match(ls labels.Set) []*Route {
	return r.MatchAppend(nil, ls)
}

// MatchAppend is Match appending to dst, so a caller that reuses dst
// matches without allocating.
func (r *Route) MatchAppend(dst []*Route, ls labels.Set) []*Route {
	if !r.Matchers.Matches(ls) {
		return dst
	}
	start := len(dst)
	for _, c := range r.Routes {
		n := len(dst)
		dst = c.MatchAppend(dst, ls)
		if len(dst) > n && !c.Continue {
			break
		}
	}
	if len(dst) == start {
		dst = append(dst, r)
	}
	return dst
}

// Key identifies the route as Alertmanager's Route.Key: the matchers of
// the route and its ancestors, root first, joined by "/" ("{}/{team=\"shop\"}").
func (r *Route) Key() string {
	var b strings.Builder
	r.writeKey(&b)
	return b.String()
}

func (r *Route) writeKey(b *strings.Builder) {
	if r.parent != nil {
		r.parent.writeKey(b)
		b.WriteByte('/')
	}
	b.WriteString(r.Matchers.String())
}

// ID is unique per route, unlike Key (siblings may share matchers): Key
// with each route's index among its siblings, as Alertmanager's Route.ID.
func (r *Route) ID() string {
	var b strings.Builder
	if r.parent != nil {
		b.WriteString(r.parent.ID())
		b.WriteByte('/')
	}
	b.WriteString(r.Matchers.String())
	if r.parent != nil {
		for i, s := range r.parent.Routes {
			if s == r {
				b.WriteByte('/')
				b.WriteString(strconv.Itoa(i))
				break
			}
		}
	}
	return b.String()
}

// GroupLabels are the labels of ls that the route groups by (all of them
// with "..."), as Alertmanager's getGroupLabels: a group_by label that ls
// lacks is left out, one present with an empty value is kept.
func (r *Route) GroupLabels(ls labels.Set) labels.Set {
	g := labels.Set{}
	if r.Opts.GroupByAll {
		for k, v := range ls {
			g[k] = v
		}
		return g
	}
	for _, n := range r.Opts.GroupBy {
		if v, ok := ls[n]; ok {
			g[n] = v
		}
	}
	return g
}

// GroupKey is Alertmanager's aggregation group key of ls on this route:
// Key() + ":" + the group labels as model.LabelSet prints them. It is the
// groupKey of the webhook payload.
func (r *Route) GroupKey(ls labels.Set) string {
	return r.Key() + ":" + r.GroupLabels(ls).String()
}

// Walk calls fn for r and every route below it, depth first in order.
func (r *Route) Walk(fn func(*Route)) {
	fn(r)
	for _, c := range r.Routes {
		c.Walk(fn)
	}
}

// Receivers returns the receiver names the tree uses (escalation
// receivers too), sorted, once each.
func (r *Route) Receivers() []string {
	seen := map[string]bool{}
	r.Walk(func(x *Route) {
		seen[x.Opts.Receiver] = true
		if x.Opts.Escalate.Receiver != "" {
			seen[x.Opts.Escalate.Receiver] = true
		}
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
