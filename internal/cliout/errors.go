package cliout

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// StatusError is an error that carries the HTTP status and request id of
// the server's answer (internal/apiclient.Error implements it).
type StatusError interface {
	error
	HTTPStatus() int
	HTTPRequestID() string
	// HTTPMessage is the server's message alone, without status and request id.
	HTTPMessage() string
}

// ErrorBody is the JSON form of a failed command on stderr with -o json.
type ErrorBody struct {
	Error     string `json:"error"`
	Status    int    `json:"status,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	ExitCode  int    `json:"exit_code"`
}

// WriteError prints err for the format: one line "wharf: ..." for people
// (further lines, e.g. a usage hint, indented as given), or an ErrorBody
// as JSON.
func WriteError(w io.Writer, err error, f Format, exitCode int) {
	if f == JSON {
		b := ErrorBody{Error: err.Error(), ExitCode: exitCode}
		var se StatusError
		if errors.As(err, &se) {
			b.Status, b.RequestID = se.HTTPStatus(), se.HTTPRequestID()
			b.Error = strings.Replace(b.Error, se.Error(), se.HTTPMessage(), 1)
		}
		_ = WriteJSON(w, b)
		return
	}
	fmt.Fprintf(w, "wharf: %s\n", strings.TrimRight(err.Error(), "\n"))
}
