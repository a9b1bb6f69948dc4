package main

import (
	"context"
	"net/http/httptrace"
)

// withTrace makes ctx call wrote once its request has been written and
// first when the first byte of the answer arrives (either may be nil).
func withTrace(ctx context.Context, wrote, first func()) context.Context {
	t := &httptrace.ClientTrace{}
	if wrote != nil {
		t.WroteRequest = func(httptrace.WroteRequestInfo) { wrote() }
	}
	if first != nil {
		t.GotFirstResponseByte = first
	}
	return httptrace.WithClientTrace(ctx, t)
}
