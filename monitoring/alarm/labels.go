package alarm

import (
	"sort"
	"strconv"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// The label names Wharf sets on an event (see the package doc).
const (
	LabelAlertname = "alertname"
	LabelStrategy  = "strategy"
	LabelTeam      = "team"
	LabelApp       = "app"
	LabelMetric    = "metric"
	LabelEndpoint  = "endpoint"
	LabelPriority  = "priority"
	LabelStatus    = "status"
)

// TagPrefix is put before a pushed tag's name that collides with a label
// Wharf sets.
const TagPrefix = "tag_"

func reserved(name string) bool {
	switch name {
	case LabelAlertname, LabelStrategy, LabelTeam, LabelMetric, LabelEndpoint, LabelPriority, LabelStatus:
		return true
	}
	return false
}

// EventLabels returns the labels of e (see the package doc). Empty values
// are left out, since an empty label is an absent one.
func EventLabels(e event.Event) labels.Set {
	s := make(labels.Set, 8+len(e.PushedTags))
	names := make([]string, 0, len(e.PushedTags))
	for k := range e.PushedTags {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := e.PushedTags[k]
		n := labels.SanitizeName(k)
		if reserved(n) {
			n = TagPrefix + n
		}
		if _, dup := s[n]; dup || v == "" {
			continue
		}
		s[n] = v
	}
	set := func(k, v string) {
		if v != "" {
			s[k] = v
		}
	}
	set(LabelAlertname, e.StrategyID)
	set(LabelStrategy, e.StrategyID)
	set(LabelTeam, e.Team)
	set(LabelMetric, e.Metric)
	set(LabelEndpoint, e.Endpoint)
	set(LabelPriority, strconv.Itoa(e.Priority))
	set(LabelStatus, string(e.Status))
	return s
}

// IdentityLabels returns the labels that identify a case across its
// events: EventLabels without status, whose value changes from event to
// event. Routing and grouping use these, so that PROBLEM and OK of one
// case land in one group.
func IdentityLabels(e event.Event) labels.Set {
	s := EventLabels(e)
	delete(s, LabelStatus)
	return s
}
