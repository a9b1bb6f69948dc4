// Package httperr is Wharf's one typed HTTP error and the single place that
// turns any error into a status code and a JSON body
// {"error": "...", "request_id": "..."}.
package httperr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/valyala/fasthttp"
)

// Error is an error with an HTTP status and a message safe to show a client.
type Error struct {
	Status  int
	Message string
	// Headers are extra response headers, e.g. Retry-After.
	Headers map[string]string
	// Cause is logged, never shown to the client.
	Cause error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// New returns an *Error with a formatted message.
func New(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error whose cause is logged but not shown.
func Wrap(status int, cause error, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...), Cause: cause}
}

// BadRequest is a 400.
func BadRequest(format string, args ...any) *Error {
	return New(fasthttp.StatusBadRequest, format, args...)
}

// NotFound is a 404.
func NotFound(format string, args ...any) *Error {
	return New(fasthttp.StatusNotFound, format, args...)
}

// Conflict is a 409.
func Conflict(format string, args ...any) *Error {
	return New(fasthttp.StatusConflict, format, args...)
}

// Unauthorized is a 401 with a WWW-Authenticate challenge.
func Unauthorized(format string, args ...any) *Error {
	e := New(fasthttp.StatusUnauthorized, format, args...)
	e.Headers = map[string]string{"WWW-Authenticate": `Bearer realm="wharf"`}
	return e
}

// Forbidden is a 403.
func Forbidden(format string, args ...any) *Error {
	return New(fasthttp.StatusForbidden, format, args...)
}

// Unavailable is a 503.
func Unavailable(cause error, format string, args ...any) *Error {
	return Wrap(fasthttp.StatusServiceUnavailable, cause, format, args...)
}

type body struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

// Write maps err to a response: an *Error keeps its status and message; any
// other error becomes a 500 with a generic message and is logged with its cause.
func Write(ctx *fasthttp.RequestCtx, log *slog.Logger, requestID string, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = Wrap(fasthttp.StatusInternalServerError, err, "internal error")
	}
	if log != nil && (he.Status >= 500 || he.Cause != nil) {
		log.Error("request failed", "status", he.Status, "message", he.Message, "err", he.Cause,
			"request_id", requestID, "path", string(ctx.Path()))
	}
	for k, v := range he.Headers {
		ctx.Response.Header.Set(k, v)
	}
	WriteJSON(ctx, he.Status, body{Error: he.Message, RequestID: requestID})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = fasthttp.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"cannot encode response"}` + "\n")
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(buf.Bytes())
}
