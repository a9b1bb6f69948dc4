package edge

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/wharfhq/wharf/internal/config"
)

// Op is what happened to one object between two edge configs.
type Op string

// The operations a Diff reports.
const (
	Added     Op = "added"
	Removed   Op = "removed"
	Changed   Op = "changed"
	Reordered Op = "reordered"
)

// FieldChange is one top-level field of an object that differs; Old and New
// are compact JSON ("" when the field is absent or zero).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old,omitempty"`
	New   string `json:"new,omitempty"`
}

// Entry is one difference: an object (kind "route", "service", "limit"), a
// CIDR on a global ACL list (kind "acl.allow" or "acl.deny", Name the CIDR),
// or the order of the routes (kind "routes", Op Reordered).
type Entry struct {
	Kind   string        `json:"kind"`
	Name   string        `json:"name,omitempty"`
	Op     Op            `json:"op"`
	Fields []FieldChange `json:"fields,omitempty"`
}

// Diff lists what turns one edge config into another, in a stable order:
// ACL, limits, services, routes. It is empty when the two configs behave
// alike (absent, null and zero values count as equal; the order of ACL
// entries does not matter).
type Diff []Entry

// Compare returns what changes when from is replaced by to.
func Compare(from, to config.Edge) Diff {
	var d Diff
	d = append(d, setDiff("acl.allow", from.ACL.Allow, to.ACL.Allow)...)
	d = append(d, setDiff("acl.deny", from.ACL.Deny, to.ACL.Deny)...)
	d = append(d, listDiff("limit", named(from.Limits, func(l config.LimitConfig) string { return l.Name }), named(to.Limits, func(l config.LimitConfig) string { return l.Name }))...)
	d = append(d, listDiff("service", named(from.Services, func(s config.ServiceConfig) string { return s.Name }), named(to.Services, func(s config.ServiceConfig) string { return s.Name }))...)
	fr, tr := named(from.Routes, func(r config.RouteConfig) string { return r.Name }), named(to.Routes, func(r config.RouteConfig) string { return r.Name })
	d = append(d, listDiff("route", fr, tr)...)
	if reordered(fr, tr) {
		d = append(d, Entry{Kind: "routes", Op: Reordered})
	}
	return d
}

// Empty reports whether the two configs compared alike.
func (d Diff) Empty() bool { return len(d) == 0 }

// summaryMax is how many entries Summary names before "and N more".
const summaryMax = 20

// Summary is a one-line description naming the objects, e.g.
// "route docs added, limit per_ip changed (burst)"; "no difference" when
// empty. Past 20 entries it ends with "and N more".
func (d Diff) Summary() string {
	if d.Empty() {
		return "no difference"
	}
	parts := make([]string, 0, min(len(d), summaryMax+1))
	for i, e := range d {
		if i == summaryMax {
			parts = append(parts, fmt.Sprintf("and %d more", len(d)-summaryMax))
			break
		}
		s := e.Kind
		if e.Name != "" {
			s += " " + e.Name
		}
		s += " " + string(e.Op)
		if len(e.Fields) > 0 {
			f := make([]string, len(e.Fields))
			for i, c := range e.Fields {
				f[i] = c.Field
			}
			s += " (" + strings.Join(f, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// String renders the diff one object per line for a person: "+ route docs",
// "- acl.deny 10.0.0.0/8", "~ limit per_ip" followed by indented
// "burst: 20 -> 5" lines.
func (d Diff) String() string {
	if d.Empty() {
		return "no difference\n"
	}
	var b strings.Builder
	for _, e := range d {
		sign := map[Op]string{Added: "+", Removed: "-", Changed: "~", Reordered: "~"}[e.Op]
		fmt.Fprintf(&b, "%s %s", sign, e.Kind)
		if e.Name != "" {
			fmt.Fprintf(&b, " %s", e.Name)
		}
		if e.Op == Reordered {
			b.WriteString(" reordered")
		}
		b.WriteByte('\n')
		for _, c := range e.Fields {
			fmt.Fprintf(&b, "    %s: %s -> %s\n", c.Field, orNone(c.Old), orNone(c.New))
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// object is one named item of a list in its canonical form.
type object struct {
	name   string
	fields map[string]any
}

// named lists the objects by name; a name that repeats (which Validate
// refuses) gets "#2", "#3"... so every object is compared with its peer.
func named[T any](list []T, name func(T) string) []object {
	out := make([]object, 0, len(list))
	seen := make(map[string]int, len(list))
	for _, v := range list {
		n := name(v)
		if seen[n]++; seen[n] > 1 {
			n = fmt.Sprintf("%s#%d", n, seen[n])
		}
		out = append(out, object{name: n, fields: canonical(v)})
	}
	return out
}

// canonical turns v into its JSON fields without the ones that are null,
// zero, empty or named "name", so that a YAML file and the stored JSON of
// the same object compare equal.
func canonical(v any) map[string]any {
	b, _ := json.Marshal(v) // plain config data: cannot fail
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "name")
	prune(m)
	return m
}

// prune removes empty values from m, depth first; it reports whether m
// itself ended up empty.
func prune(m map[string]any) bool {
	for k, v := range m {
		if isEmpty(v) {
			delete(m, k)
		}
	}
	return len(m) == 0
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return prune(x)
	}
	return false
}

func listDiff(kind string, from, to []object) Diff {
	var d Diff
	old := make(map[string]object, len(from))
	for _, o := range from {
		old[o.name] = o
	}
	seen := make(map[string]bool, len(to))
	for _, o := range to {
		seen[o.name] = true
		p, ok := old[o.name]
		switch {
		case !ok:
			d = append(d, Entry{Kind: kind, Name: o.name, Op: Added})
		case !reflect.DeepEqual(p.fields, o.fields):
			d = append(d, Entry{Kind: kind, Name: o.name, Op: Changed, Fields: fieldChanges(p.fields, o.fields)})
		}
	}
	for _, o := range from {
		if !seen[o.name] {
			d = append(d, Entry{Kind: kind, Name: o.name, Op: Removed})
		}
	}
	return d
}

func fieldChanges(from, to map[string]any) []FieldChange {
	keys := make([]string, 0, len(from)+len(to))
	for k := range from {
		keys = append(keys, k)
	}
	for k := range to {
		if _, ok := from[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []FieldChange
	for _, k := range keys {
		if !reflect.DeepEqual(from[k], to[k]) {
			out = append(out, FieldChange{Field: k, Old: compact(from[k]), New: compact(to[k])})
		}
	}
	return out
}

func compact(v any) string {
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v) // decoded JSON: cannot fail
	return string(b)
}

// setDiff compares two CIDR lists as sets.
func setDiff(kind string, from, to []string) Diff {
	var d Diff
	for _, c := range to {
		if !slices.Contains(from, c) {
			d = append(d, Entry{Kind: kind, Name: c, Op: Added})
		}
	}
	for _, c := range from {
		if !slices.Contains(to, c) {
			d = append(d, Entry{Kind: kind, Name: c, Op: Removed})
		}
	}
	return d
}

// reordered reports whether the routes both configs have appear in a
// different order.
func reordered(from, to []object) bool {
	in := func(list []object) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, o := range list {
			m[o.name] = true
		}
		return m
	}
	inFrom, inTo := in(from), in(to)
	var a, b []string
	for _, o := range from {
		if inTo[o.name] {
			a = append(a, o.name)
		}
	}
	for _, o := range to {
		if inFrom[o.name] {
			b = append(b, o.name)
		}
	}
	return !slices.Equal(a, b)
}
