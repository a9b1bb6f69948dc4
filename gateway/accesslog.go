package gateway

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"
)

// accessLog writes one structured line for a sampled request (one of every
// Options.AccessLogEvery) and for every server error while the log is on.
func (g *Gateway) accessLog(ctx *fasthttp.RequestCtx, cr *compiledRoute, client netip.Addr, rid string, status int, start time.Time, ev *event) {
	every := g.opts.AccessLogEvery
	if every <= 0 {
		return
	}
	if status < 500 && g.logSeq.Add(1)%uint64(every) != 0 {
		return
	}
	route := ""
	if cr != nil {
		route = cr.name
	}
	attrs := []slog.Attr{
		slog.String("request_id", rid),
		slog.String("client", client.String()),
		slog.String("method", string(ctx.Method())),
		slog.String("host", string(ctx.Host())),
		slog.String("path", string(ctx.Path())),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Int("bytes", responseBytes(&ctx.Response)),
		slog.Duration("duration", time.Since(start)),
	}
	if cr != nil && cr.decide != nil {
		attrs = append(attrs, slog.String("limit_status", ev.outcome.String()))
	}
	if ev.denied != "" {
		attrs = append(attrs, slog.String("denied_by", ev.denied))
	}
	if ev.upstream != "" {
		attrs = append(attrs, slog.String("upstream", ev.upstream), slog.Int("attempts", ev.attempts), slog.Bool("pipelined", ev.pipelined))
	}
	g.log.LogAttrs(ctx, slog.LevelInfo, "access", attrs...)
}

// responseBytes is the size of the response body for the access log without
// touching a streamed body (Response.Body would read all of it into memory
// before the client gets a byte, and never return for an endless stream): a
// streamed body counts by its Content-Length, or -1 when it is sent chunked
// and its length is unknown when the line is logged.
func responseBytes(r *fasthttp.Response) int {
	if r.IsBodyStream() {
		return max(r.Header.ContentLength(), -1)
	}
	return len(r.Body())
}
