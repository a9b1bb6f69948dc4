package proxy

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/httperr"
)

// ErrorClass sorts proxy failures for metrics and the access log.
type ErrorClass uint8

// Error classes.
const (
	// ClassNone: the upstream answered (whatever its status).
	ClassNone ErrorClass = iota
	// ClassConnect: no connection could be had (refused, dial timeout, DNS,
	// pool full); nothing was sent.
	ClassConnect
	// ClassTimeout: the response deadline passed after the request was sent.
	ClassTimeout
	// ClassReset: the upstream closed or reset the connection, or sent a
	// malformed response.
	ClassReset
	// ClassBodyTooLarge: the request body is over the route's limit.
	ClassBodyTooLarge
	// ClassClient: the request itself was unusable (its body could not be
	// read, or its method cannot be proxied), or the client went away while
	// it waited (status 499); not the upstream's fault.
	ClassClient
	// ClassOverload: the service's adaptive concurrency limit refused the
	// request before any upstream work (503).
	ClassOverload
)

var classNames = [...]string{"none", "connect", "timeout", "reset", "body_too_large", "client", "overload"}

// String returns the class's metric label.
func (c ErrorClass) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Outcome describes one proxied request for metrics and the access log.
type Outcome struct {
	// Service is the service name.
	Service string
	// Addr is the instance of the last attempt; empty if none was made.
	Addr string
	// Status is the status code sent to the client.
	Status int
	// Attempts counts upstream exchanges, including failover to another
	// instance and replays after a stale keep-alive connection.
	Attempts int
	// Class is ClassNone when the upstream answered.
	Class ErrorClass
	// Duration runs from Serve's start to its return, when the response
	// headers are ready. A streamed body is still being copied afterwards.
	Duration time.Duration
	// Pipelined reports that the answer came over a pipelined connection.
	Pipelined bool
	// Streamed reports that the upstream body is streamed to the client
	// after Serve returns; a failure then shows only as a cut connection.
	Streamed bool
	// Err is the error answered to the client (an *httperr.Error whose Cause
	// holds the upstream error), nil when the upstream answered.
	Err error
}

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// isDialError reports whether err happened before anything was sent.
func isDialError(err error) bool {
	var de *dialError
	return errors.As(err, &de) || errors.Is(err, fasthttp.ErrNoFreeConns)
}

// upstreamError maps a failed exchange with instance addr of service to its
// class and the client's answer. Messages name the service and the instance
// address, nothing more; the cause is kept for the log.
func upstreamError(err error, service, addr string) (ErrorClass, *httperr.Error) {
	var de *dialError
	switch {
	case errors.As(err, &de) && de.Timeout():
		return ClassConnect, httperr.Wrap(fasthttp.StatusGatewayTimeout, err,
			"service %s: connecting to upstream %s timed out", service, addr)
	case errors.As(err, &de):
		return ClassConnect, httperr.Wrap(fasthttp.StatusBadGateway, err,
			"service %s: cannot connect to upstream %s", service, addr)
	case errors.Is(err, fasthttp.ErrNoFreeConns), errors.Is(err, fasthttp.ErrPipelineOverflow):
		return ClassConnect, httperr.Wrap(fasthttp.StatusServiceUnavailable, err,
			"service %s: no free connection to upstream %s", service, addr)
	case isTimeout(err):
		return ClassTimeout, httperr.Wrap(fasthttp.StatusGatewayTimeout, err,
			"service %s: upstream %s timed out", service, addr)
	default:
		return ClassReset, httperr.Wrap(fasthttp.StatusBadGateway, err,
			"service %s: upstream %s failed", service, addr)
	}
}
