package plan

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// Amount is a number of targets given either as a count (JSON 3) or as a
// percentage of a total (JSON "25%"), as strategy.batch and
// max_unavailable take it. The zero Amount means "not given".
type Amount struct {
	// N is the count, or the percentage when Percent is set.
	N       int
	Percent bool
}

// Count is a plain count of n.
func Count(n int) Amount { return Amount{N: n} }

// Percent is n percent.
func Percent(n int) Amount { return Amount{N: n, Percent: true} }

// IsZero reports whether a is not given.
func (a Amount) IsZero() bool { return a.N == 0 && !a.Percent }

// Of resolves a against a total: the count itself, or ceil(N% of total);
// never below 1 (nor above total, when total is positive).
func (a Amount) Of(total int) int {
	n := a.N
	if a.Percent {
		n = (a.N*total + 99) / 100
	}
	if total > 0 {
		n = min(n, total)
	}
	return max(n, 1)
}

// String renders a as JSON shows it: "3" or "25%".
func (a Amount) String() string {
	if a.Percent {
		return strconv.Itoa(a.N) + "%"
	}
	return strconv.Itoa(a.N)
}

// MarshalJSON writes a count as a number and a percentage as "N%".
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.Percent {
		return json.Marshal(a.String())
	}
	return []byte(strconv.Itoa(a.N)), nil
}

// UnmarshalJSON reads an integer or a string "N%". Errors are
// *json.UnmarshalTypeError, so that the decoder names the field.
func (a *Amount) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return typeError("string "+string(b), a)
		}
		num, ok := strings.CutSuffix(s, "%")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || num == "" || num[0] < '0' || num[0] > '9' {
			return typeError(strconv.Quote(s), a)
		}
		*a = Amount{N: n, Percent: true}
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return typeError("number "+string(b), a)
	}
	*a = Amount{N: n}
	return nil
}

// Pause is the wait between the steps of a staged strategy: a duration
// (JSON "2m") or, with Manual, until an operator resumes (JSON "manual").
// The zero Pause means no wait.
type Pause struct {
	Manual bool
	D      time.Duration
}

// IsZero reports whether p is no pause at all.
func (p Pause) IsZero() bool { return !p.Manual && p.D == 0 }

// String renders p as JSON shows it: "manual" or a duration.
func (p Pause) String() string {
	if p.Manual {
		return "manual"
	}
	return p.D.String()
}

// MarshalJSON writes "manual" or a duration string.
func (p Pause) MarshalJSON() ([]byte, error) { return json.Marshal(p.String()) }

// UnmarshalJSON reads "manual" or a duration string like "2m".
func (p *Pause) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return typeError(wire.DescribeJSON(b), p)
	}
	if s == "manual" {
		*p = Pause{Manual: true}
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return typeError(strconv.Quote(s), p)
	}
	*p = Pause{D: d}
	return nil
}

// typeError is the error of a custom unmarshaler; the decoder fills in
// the field path.
func typeError(value string, v any) error {
	return &json.UnmarshalTypeError{Value: value, Type: reflect.TypeOf(v).Elem()}
}

// want says what a field of type t takes, for the FieldError of a
// *json.UnmarshalTypeError.
func want(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Amount]():
		return `a count or a percentage like "25%"`
	case reflect.TypeFor[Pause]():
		return `a duration like "2m" or "manual"`
	case reflect.TypeFor[wire.Duration]():
		return `a duration like "30s"`
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return t.String()
}
