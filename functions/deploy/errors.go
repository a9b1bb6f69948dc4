package deploy

import (
	"fmt"
	"strings"

	"github.com/wharfhq/wharf/functions/deploy/plan"
)

// BusyError is returned when the app already has a deploy running; the API
// answers 409 with the running deploy's id in the field "running".
type BusyError struct {
	App, Running, Version string
	State                 plan.State
	// Hint says what the caller can do.
	Hint string
}

// Error implements error.
func (e *BusyError) Error() string {
	return fmt.Sprintf("app %q has a deploy running: %s (version %s, %s); %s", e.App, e.Running, e.Version, e.State, e.Hint)
}

func busy(rec *plan.Record, hint string) *BusyError {
	return &BusyError{App: rec.App, Running: rec.ID, Version: rec.Version, State: rec.State, Hint: hint}
}

// FieldsError is a 4xx about a request's fields; the API answers with the
// message and the list of fields.
type FieldsError struct {
	Status int
	Msg    string
	Fields []FieldProblem
}

// FieldProblem is one field that is wrong, as a JSON path.
type FieldProblem struct {
	Field string `json:"field"`
	Msg   string `json:"msg"`
}

// Error implements error.
func (e *FieldsError) Error() string { return e.Msg }

// fieldsError turns an error of plan (which joins *plan.FieldErrors) into
// a FieldsError: "what: field: msg; field: msg".
func fieldsError(status int, what string, err error) *FieldsError {
	var fs []FieldProblem
	collectFields(err, &fs)
	if len(fs) == 0 {
		msg := err.Error()
		for _, p := range []string{"cannot parse deploy: ", "cannot select targets: ", "cannot create deploy: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		return &FieldsError{Status: status, Msg: what + ": " + msg}
	}
	parts := make([]string, len(fs))
	for i, p := range fs {
		parts[i] = p.Field + ": " + p.Msg
	}
	return &FieldsError{Status: status, Msg: what + ": " + strings.Join(parts, "; "), Fields: fs}
}

func collectFields(err error, out *[]FieldProblem) {
	if fe, ok := err.(*plan.FieldError); ok {
		*out = append(*out, FieldProblem{Field: fe.Field, Msg: fe.Msg})
		return
	}
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			collectFields(e, out)
		}
	case interface{ Unwrap() error }:
		collectFields(x.Unwrap(), out)
	}
}
