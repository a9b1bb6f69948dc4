package silence

import (
	"fmt"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// InhibitRuleConfig is an inhibition rule as written (Alertmanager's
// inhibit_rules entry, with matchers in the classic syntax).
type InhibitRuleConfig struct {
	Name           string   `yaml:"name,omitempty" json:"name,omitempty"`
	SourceMatchers []string `yaml:"source_matchers" json:"source_matchers"`
	TargetMatchers []string `yaml:"target_matchers" json:"target_matchers"`
	Equal          []string `yaml:"equal,omitempty" json:"equal,omitempty"`
}

// InhibitRule is a compiled rule: while an alert matching Source fires,
// alerts matching Target with the same values of the Equal labels (absent
// equals absent) are muted — except by an alert that matches both sides
// itself, which cannot inhibit another alert that also matches both.
type InhibitRule struct {
	Name   string
	Source labels.Matchers
	Target labels.Matchers
	Equal  []string
}

// CompileInhibitRule validates c and compiles it; field paths are the
// JSON names ("source_matchers[0]").
func CompileInhibitRule(c InhibitRuleConfig) (*InhibitRule, error) {
	var errs fielderr.List
	r := &InhibitRule{Name: c.Name}
	parse := func(field string, in []string) labels.Matchers {
		var out labels.Matchers
		if len(in) == 0 {
			errs.Add(field, "at least one matcher is required")
		}
		for i, s := range in {
			ms, err := labels.ParseMatchers(s)
			if err != nil {
				errs.Add(fmt.Sprintf("%s[%d]", field, i), err.Error())
				continue
			}
			out = append(out, ms...)
		}
		return out
	}
	r.Source = parse("source_matchers", c.SourceMatchers)
	r.Target = parse("target_matchers", c.TargetMatchers)
	for i, n := range c.Equal {
		if !labels.ValidName(n) {
			errs.Add(fmt.Sprintf("equal[%d]", i), fmt.Sprintf("invalid label name %q", n))
		}
	}
	r.Equal = append([]string(nil), c.Equal...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// Inhibited returns the first rule that mutes target, given the label sets
// of the alerts firing now (target's own set may be among them), and the
// index in firing of the source that inhibits it; -1 when none does.
func Inhibited(rules []*InhibitRule, firing []labels.Set, target labels.Set) (*InhibitRule, int) {
	for _, r := range rules {
		if !r.Target.Matches(target) {
			continue
		}
		bothSides := r.Source.Matches(target)
		for i, src := range firing {
			if !r.Source.Matches(src) || (bothSides && r.Target.Matches(src)) {
				continue
			}
			if equalOn(r.Equal, src, target) {
				return r, i
			}
		}
	}
	return nil, -1
}

func equalOn(names []string, a, b labels.Set) bool {
	for _, n := range names {
		if a[n] != b[n] {
			return false
		}
	}
	return true
}
