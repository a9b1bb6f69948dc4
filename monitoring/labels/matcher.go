package labels

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// MatchType is a matcher's operator.
type MatchType int

// The operators, as Alertmanager's (same order and values).
const (
	MatchEqual     MatchType = iota // =
	MatchNotEqual                   // !=
	MatchRegexp                     // =~
	MatchNotRegexp                  // !~
)

// String returns the operator as written: "=", "!=", "=~" or "!~".
func (t MatchType) String() string {
	switch t {
	case MatchEqual:
		return "="
	case MatchNotEqual:
		return "!="
	case MatchRegexp:
		return "=~"
	case MatchNotRegexp:
		return "!~"
	}
	return "?"
}

// Matcher is one condition on one label. Build it with NewMatcher or a
// parser; the zero value is not usable with a regex type.
type Matcher struct {
	Type  MatchType
	Name  string
	Value string

	re *regexp.Regexp
}

// NewMatcher returns a matcher, compiling Value fully anchored for the
// regex types. Name must be a valid label name (ValidName).
func NewMatcher(t MatchType, name, value string) (*Matcher, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("cannot use %q as a label name: want [a-zA-Z_][a-zA-Z0-9_]*", name)
	}
	m := &Matcher{Type: t, Name: name, Value: value}
	switch t {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("cannot compile the regex of %s: %w", name, err)
		}
		m.re = re
	default:
		return nil, fmt.Errorf("cannot use match type %d", t)
	}
	return m, nil
}

// Matches reports whether the label value v satisfies m (an absent label
// is the empty string).
func (m *Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String writes m in the matcher syntax, value double-quoted with
// OpenMetrics escapes (\\, \n, \"), as Alertmanager prints it.
func (m *Matcher) String() string {
	return m.Name + m.Type.String() + `"` + escaper.Replace(m.Value) + `"`
}

var escaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)

// apiMatcher is the JSON form of the Alertmanager API v2 (silences):
// isEqual defaults to true when absent, as in Alertmanager.
type apiMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"`
}

// MarshalJSON writes the API v2 form {"name","value","isRegex","isEqual"}.
func (m Matcher) MarshalJSON() ([]byte, error) {
	eq := m.Type == MatchEqual || m.Type == MatchRegexp
	return json.Marshal(apiMatcher{
		Name: m.Name, Value: m.Value,
		IsRegex: m.Type == MatchRegexp || m.Type == MatchNotRegexp,
		IsEqual: &eq,
	})
}

// UnmarshalJSON reads the API v2 form and compiles the matcher.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var a apiMatcher
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("cannot decode matcher: %w", err)
	}
	eq := a.IsEqual == nil || *a.IsEqual
	t := MatchEqual
	switch {
	case eq && a.IsRegex:
		t = MatchRegexp
	case !eq && a.IsRegex:
		t = MatchNotRegexp
	case !eq:
		t = MatchNotEqual
	}
	n, err := NewMatcher(t, a.Name, a.Value)
	if err != nil {
		return err
	}
	*m = *n
	return nil
}

// Matchers is a conjunction: a set matches when every matcher does. No
// matchers match everything.
type Matchers []*Matcher

// Matches reports whether every matcher holds on s.
func (ms Matchers) Matches(s Set) bool {
	for _, m := range ms {
		if !m.Matches(s[m.Name]) {
			return false
		}
	}
	return true
}

// MatchesEmpty reports whether the matchers hold on a set with no labels
// at all (Alertmanager refuses such a silence: it would mute everything).
func (ms Matchers) MatchesEmpty() bool {
	for _, m := range ms {
		if !m.Matches("") {
			return false
		}
	}
	return true
}

// String writes {m1,m2} as Alertmanager's Matchers.String (route keys
// contain it; sort first with Sort for the canonical form).
func (ms Matchers) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.String())
	}
	b.WriteByte('}')
	return b.String()
}

// Sort sorts ms in place as Alertmanager does: by name, then value, then
// operator.
func (ms Matchers) Sort() {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Value != b.Value {
			return a.Value < b.Value
		}
		return a.Type < b.Type
	})
}
