package gateway

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/gateway/realip"
	"github.com/wharfhq/wharf/internal/httperr"
)

// Response fields the gateway sets.
const (
	HeaderRateLimitStatus = "X-RateLimit-Status"
	HeaderRateLimitPolicy = "RateLimit-Policy"
	HeaderRateLimit       = "RateLimit"
)

// handle is the request path: request id → real client IP → global bans and
// ACL → route → route bans and ACL → concurrency and rate limits → target.
func (g *Gateway) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	g.m.inflight.Inc()
	peer := g.ip.Resolve(ctx) // the peer, its trust and the client, once
	rid := g.requestID(ctx, peer.Trusted)
	setResponseRequestID(ctx, rid)
	snap := g.snap.Load()
	client := peer.Client
	var ev event
	cr := g.serve(ctx, snap, peer, rid, &ev, start)
	g.m.inflight.Dec()
	status := ctx.Response.StatusCode()
	took := time.Since(start).Seconds()
	g.m.observe(status, took)
	if cr != nil {
		cr.m.observe(status, took)
	}
	g.accessLog(ctx, cr, client, rid, status, start, &ev)
	g.finishBody(ctx)
}

// event is what the access log reports besides the basics.
type event struct {
	outcome   ratelimit.Outcome
	limited   bool
	denied    string // "acl", "ban", "" when admitted
	upstream  string
	attempts  int
	pipelined bool
}

func (g *Gateway) serve(ctx *fasthttp.RequestCtx, snap *snapshot, peer realip.Peer, rid string, ev *event, start time.Time) *compiledRoute {
	client := peer.Client
	if g.bans != nil {
		if _, banned := g.bans.Banned(client); banned {
			g.m.banned.Inc()
			ev.denied = "ban"
			httperr.Write(ctx, nil, rid, httperr.Forbidden("forbidden: %s is banned", client))
			return nil
		}
	}
	if v := snap.global.Check(client); v != acl.Allowed {
		g.m.denied.Inc()
		ev.denied = "acl"
		httperr.Write(ctx, nil, rid, httperr.Forbidden("forbidden: %s is %s", client, v))
		return nil
	}
	res := snap.router.Match(ctx.Host(), ctx.Path(), ctx.Method())
	if res.Index < 0 {
		if res.Allow != "" {
			e := httperr.New(fasthttp.StatusMethodNotAllowed, "method %s not allowed; use %s", ctx.Method(), res.Allow)
			e.Headers = map[string]string{"Allow": res.Allow}
			httperr.Write(ctx, nil, rid, e)
			return nil
		}
		httperr.Write(ctx, nil, rid, httperr.NotFound("no route for %s%s", ctx.Host(), ctx.Path()))
		return nil
	}
	cr := snap.routes[res.Index]
	if cr.service != "" && readsElsewhere(snap, ctx, res.Index) {
		httperr.Write(ctx, nil, rid, ambiguousPath(ctx))
		return cr
	}
	if g.bans != nil {
		if _, banned := g.bans.BannedOn(cr.name, client); banned {
			cr.m.banned.Inc()
			ev.denied = "ban"
			httperr.Write(ctx, nil, rid, httperr.Forbidden("forbidden: %s is banned", client))
			return cr
		}
	}
	if cr.acl != nil {
		if v := cr.acl.Check(client); v != acl.Allowed {
			cr.m.denied.Inc()
			ev.denied = "acl"
			httperr.Write(ctx, nil, rid, httperr.Forbidden("forbidden: %s is %s", client, v))
			return cr
		}
	}
	kb := g.keyBufs.Get().(*keyBuf)
	defer g.keyBufs.Put(kb)
	if len(cr.conns) > 0 {
		keys := kb.build(cr.connKeys, ctx, g.ip, client)
		var toks [16]ratelimit.ConnToken
		for i, cl := range cr.conns {
			tok, ok := cl.Acquire(keys[i])
			if !ok {
				for j := 0; j < i; j++ {
					toks[j].Release()
				}
				g.limited(ctx, cr, client, rid, ev, fasthttp.StatusServiceUnavailable, 1, "too many concurrent requests")
				return cr
			}
			toks[i] = tok
		}
		defer func() {
			for i := range cr.conns {
				toks[i].Release()
			}
		}()
	}
	if cr.decide != nil && !g.rateLimit(ctx, cr, client, rid, ev, kb) {
		return cr
	}
	switch {
	case cr.service != "":
		if ev.outcome == ratelimit.Delayed {
			// The upstream's time starts after the delay, not before.
			start = time.Time{}
		}
		g.forward(ctx, cr, peer, rid, ev, kb, start)
	case g.fns != nil:
		if !g.fns.ServeFunction(cr.function, ctx, rid, cr.maxBody) {
			httperr.Write(ctx, nil, rid, httperr.NotFound("no route for %s %s", ctx.Method(), ctx.Path()))
		}
	default:
		httperr.Write(ctx, nil, rid, httperr.NotFound("no function %q in this process", cr.function))
	}
	return cr
}

// rateLimit decides the request against the route's rate limits, sets the
// RateLimit fields, and either delays it or answers the rejection. It
// reports whether the request may go on.
func (g *Gateway) rateLimit(ctx *fasthttp.RequestCtx, cr *compiledRoute, client netip.Addr, rid string, ev *event, kb *keyBuf) bool {
	keys := kb.build(cr.keys, ctx, g.ip, client)
	d := cr.decide(keys)
	ev.outcome = d.Outcome
	h := &ctx.Response.Header
	h.Set(HeaderRateLimitPolicy, cr.local.PolicyField())
	if d.Limit >= 0 {
		var buf [128]byte
		h.SetBytesV(HeaderRateLimit, cr.local.AppendRateLimit(buf[:0], d))
	}
	switch d.Outcome {
	case ratelimit.Rejected:
		g.limited(ctx, cr, client, rid, ev, d.Status, d.RetryAfterSeconds(), "rate limit exceeded")
		return false
	case ratelimit.Delayed:
		cr.m.delayed.Inc()
		h.Set(HeaderRateLimitStatus, "DELAYED")
		time.Sleep(d.Delay)
	case ratelimit.RejectedDryRun, ratelimit.DelayedDryRun:
		cr.m.dryRun.Inc()
		h.Set(HeaderRateLimitStatus, d.Outcome.String())
	}
	return true
}

// limited answers a request refused by a limit and reports the client to the
// route's auto-ban tracker.
func (g *Gateway) limited(ctx *fasthttp.RequestCtx, cr *compiledRoute, client netip.Addr, rid string, ev *event, status int, retryAfter int64, msg string) {
	cr.m.limited.Inc()
	ev.limited = true
	if cr.tracker != nil {
		cr.tracker.Hit(client)
	}
	e := httperr.New(status, "%s", msg)
	e.Headers = map[string]string{HeaderRateLimitStatus: "REJECTED"}
	if retryAfter > 0 {
		e.Headers["Retry-After"] = strconv.FormatInt(retryAfter, 10)
	}
	httperr.Write(ctx, nil, rid, e)
}

// forward proxies the request to the route's service.
func (g *Gateway) forward(ctx *fasthttp.RequestCtx, cr *compiledRoute, peer realip.Peer, rid string, ev *event, kb *keyBuf, start time.Time) {
	if cr.upstream == nil {
		cr.m.upstream.Inc()
		httperr.Write(ctx, nil, rid, httperr.New(fasthttp.StatusServiceUnavailable, "service %q has no instances", cr.service))
		return
	}
	applyPendingReadDeadline(ctx.Conn())
	in := proxy.Input{RequestID: rid, TrustedPeer: peer.Trusted, Peer: peer.Addr, Start: start}
	if cr.sticky {
		// Sticky rooms: the client's (aggregated) address picks its room.
		in.ClientKey = g.ip.AppendKey(kb.sticky[:0], peer.Client)
	}
	out := cr.upstream.Serve(ctx, in)
	ev.upstream, ev.attempts, ev.pipelined = out.Addr, out.Attempts, out.Pipelined
	if cr.versions != nil {
		if c := cr.versions[out.Addr]; c != nil && out.Class != proxy.ClassClient && out.Class != proxy.ClassBodyTooLarge {
			c.Observe(out.Status >= 500 || out.Class != proxy.ClassNone)
		}
	}
	if out.Class != proxy.ClassNone && out.Class != proxy.ClassClient && out.Class != proxy.ClassBodyTooLarge {
		cr.m.upstream.Inc()
	}
}
