package main

import (
	"context"
	"net/http/httptrace"
)

// withWrote makes ctx call fn once its request has been written.
func withWrote(ctx context.Context, fn func()) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { fn() },
	})
}
