// Package fielderr is the validation error of Wharf's alarm models: every
// problem named by the path of its field ("routes[1].matchers[0]",
// "ends_at"), so an HTTP handler can answer 400 with a JSON body that names
// each field. Pure: no I/O.
package fielderr

import "strings"

// Error is one invalid field: Field is a JSON-style path, Msg says why.
type Error struct {
	Field string `json:"field"`
	Msg   string `json:"msg"`
}

// Error implements error.
func (e Error) Error() string { return e.Field + ": " + e.Msg }

// List is every problem found in one value, in the order found. A nil or
// empty List is no error; use Err to return it as an error.
type List []Error

// Add appends a problem with field path and message.
func (l *List) Add(field, msg string) { *l = append(*l, Error{Field: field, Msg: msg}) }

// Merge appends other's problems with prefix joined before each path
// (prefix "routes[1]" and field "receiver" give "routes[1].receiver"; a
// field starting with "[" is joined without a dot).
func (l *List) Merge(prefix string, other List) {
	for _, e := range other {
		*l = append(*l, Error{Field: Join(prefix, e.Field), Msg: e.Msg})
	}
}

// Error implements error: the problems joined by "; ".
func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Err returns l as an error, or nil when l is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Join joins two path parts: "a" + "b" = "a.b", "a" + "[0]" = "a[0]",
// "" + "b" = "b".
func Join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case strings.HasPrefix(field, "["):
		return prefix + field
	}
	return prefix + "." + field
}
