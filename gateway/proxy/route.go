package proxy

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/internal/bodylimit"
	"github.com/wharfhq/wharf/internal/httperr"
)

// Route is one gateway route's proxy target: a Service bound to the
// Transport's pools, with the route's timeouts and body limit. It is
// immutable and built per config snapshot by Transport.NewRoute.
type Route struct {
	t       *Transport
	svc     *Service
	cfg     RouteConfig
	clients []*fasthttp.HostClient // clients[i] serves svc.instances[i]
	// pipes[i] is the pipelined client of svc.instances[i] and pipeOK[i]
	// says whether it may be used now (see pool.pipeOK); nil when the
	// service does not pipeline.
	pipes  []*fasthttp.PipelineClient
	pipeOK []*atomic.Bool
}

// Service is the route's service.
func (r *Route) Service() *Service { return r.svc }

// Config is the route's effective configuration (defaults applied).
func (r *Route) Config() RouteConfig { return r.cfg }

// Input is what the gateway knows about a request beyond ctx.
type Input struct {
	// RequestID is sent upstream and back to the client as X-Request-Id
	// (replacing any the client or upstream sent); empty passes the client's.
	RequestID string
	// TrustedPeer: the connection's peer is a trusted proxy. Its
	// X-Forwarded-For list is kept and the peer appended, and its
	// X-Forwarded-Proto / -Host, Forwarded, X-Real-IP and the other
	// client-IP headers (see clientIPHeader) are passed on. Otherwise
	// X-Forwarded-For is replaced by the peer address, X-Forwarded-Proto /
	// -Host describe this connection and the others are dropped.
	TrustedPeer bool
	// Peer overrides the connection's peer address (default:
	// ctx.RemoteAddr()).
	Peer netip.Addr
	// ClientKey identifies the client for sticky room choice (the gateway
	// passes the client IP's key); empty picks a room at random.
	ClientKey []byte
	// Start is when the request arrived (the gateway's clock reading for
	// it, so the path reads the clock once); zero means now.
	Start time.Time
}

// call is the per-request scratch state, pooled by the Transport.
type call struct {
	req     fasthttp.Request
	body    bodylimit.Reader
	tokens  [][]byte
	scratch []byte
	// head is the upstream request head of a request forwarded in place.
	head []byte
	// deadline ends the whole exchange; streamed: the request body is read
	// from the client as it is sent (it cannot be sent twice).
	deadline time.Time
	streamed bool
	// client is the client's connection and watchDelay the transport's
	// ClientWatchDelay, for a watch armed once a streamed body is sent.
	client     net.Conn
	watchDelay time.Duration
	// held is the upstream connection of a response whose body is still to
	// be read (set by exchange, taken by writeResponse).
	held heldConn
	// up is the upstream connection while the request waits for its
	// answer; the client watcher closes it when the client goes away.
	up    atomic.Pointer[trackedConn]
	watch clientWatch
	// hbuf holds the instances the health checker lets through; it is
	// here, not on serve's stack, because it escapes there (through the
	// checker's interface) and would cost an allocation per request.
	hbuf [maxPlanWords]uint64
	// inPlace: the request sent is the client's own (see prepareInPlace).
	inPlace inPlace
}

func (t *Transport) getCall() *call { return t.calls.Get().(*call) }

func (t *Transport) putCall(c *call) {
	if c.held != nil {
		c.held.done(false)
		c.held = nil
	}
	c.up.Store(nil)
	c.client = nil
	c.watch.gone.Store(false) // a request that is not watched is never gone
	c.req.Reset()
	c.body = bodylimit.Reader{}
	clear(c.tokens)
	c.tokens = c.tokens[:0]
	if cap(c.scratch) > 4<<10 {
		c.scratch = nil
	}
	if cap(c.head) > 16<<10 {
		c.head = nil
	}
	t.calls.Put(c)
}

// pipelinable reports whether a request of this method (without a body)
// may be pipelined: only safe methods, whose answers do not depend on the
// order requests reach the upstream in (RFC 9112 9.3.2).
func pipelinable(m []byte) bool {
	switch string(m) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions, fasthttp.MethodTrace:
		return true
	}
	return false
}

// idempotent reports whether method is idempotent (RFC 9110 9.2.2).
func idempotent(m []byte) bool {
	switch string(m) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions,
		fasthttp.MethodTrace, fasthttp.MethodPut, fasthttp.MethodDelete:
		return true
	}
	return false
}

// Serve proxies the request in ctx to one of the route's instances and
// writes the answer into ctx.Response: the upstream's response with
// hop-by-hop headers stripped, or a JSON error (413 body too large, 502
// upstream failure, 503 pool full, 504 timeout, 400 unreadable body). It
// keeps no reference to ctx after returning; a streamed response body
// references only the upstream response, which fasthttp releases when it
// has written or dropped the body.
//
// Retries (see doc.go): any request of which no byte reached the upstream
// (a pooled connection the upstream had closed) is sent again on a fresh
// connection; a request that is idempotent and has no body also goes to
// another instance after a connect failure (at most min(instances-1,
// MaxRetries) times), and is replayed when a reused connection answered
// nothing. Nothing else is retried: not a timeout, not a 5xx, not a request
// with a body the upstream may have received.
//
// A client that closes its connection while the request waits for the
// upstream cancels the exchange: Serve returns 499 with ClassClient.
func (r *Route) Serve(ctx *fasthttp.RequestCtx, in Input) Outcome {
	lim := r.svc.limiter
	if lim == nil {
		return r.serve(ctx, in)
	}
	if !lim.Acquire() {
		// Over the adaptive limit: refuse before any upstream work.
		out := Outcome{Service: r.svc.name}
		e := httperr.New(fasthttp.StatusServiceUnavailable, "service %s is at its concurrency limit; retry shortly", r.svc.name)
		e.Headers = map[string]string{"Retry-After": "1"}
		return r.fail(ctx, &in, &out, time.Now(), ClassOverload, e)
	}
	out := r.serve(ctx, in)
	switch out.Class {
	case ClassClient, ClassBodyTooLarge:
		lim.Abandon() // the upstream never had the request
	default:
		lim.Release(out.Duration, out.Class != ClassNone || out.Status >= 500)
	}
	return out
}

func (r *Route) serve(ctx *fasthttp.RequestCtx, in Input) Outcome {
	start := in.Start
	if start.IsZero() {
		start = time.Now()
	}
	out := Outcome{Service: r.svc.name}
	if ctx.IsConnect() {
		return r.fail(ctx, &in, &out, start, ClassClient,
			httperr.New(fasthttp.StatusMethodNotAllowed, "CONNECT is not proxied"))
	}
	limit := r.cfg.MaxBodyBytes
	if int64(ctx.Request.Header.ContentLength()) > limit {
		ctx.SetConnectionClose()
		return r.fail(ctx, &in, &out, start, ClassBodyTooLarge, bodylimit.TooLarge(limit))
	}

	hasBody, streamed := false, false
	stream := ctx.RequestBodyStream()
	var body []byte
	if stream != nil {
		if cl := ctx.Request.Header.ContentLength(); cl > 0 || cl == -1 {
			hasBody, streamed = true, true
		}
	} else if body = ctx.Request.Body(); len(body) > 0 {
		if int64(len(body)) > limit {
			return r.fail(ctx, &in, &out, start, ClassBodyTooLarge, bodylimit.TooLarge(limit))
		}
		hasBody = true
	}
	retryable := !hasBody && idempotent(ctx.Method())

	c := r.t.getCall()
	defer r.t.putCall(c)
	c.deadline, c.streamed = start.Add(r.cfg.ResponseTimeout), streamed
	resp := fasthttp.AcquireResponse()
	deadline := c.deadline
	n := len(r.clients)
	var mbuf, fbuf, tbuf [maxPlanWords]uint64 // masks of up to 256 instances without allocating
	tried, fb := balance.Mask(tbuf[:]), fbuf[:]
	if w := balance.MaskWords(n); w > maxPlanWords {
		tried, fb = make(balance.Mask, w), make([]uint64, w)
	}
	eligible := r.svc.eligible(mbuf[:], c.hbuf[:])
	first := r.svc.pick(eligible, in.ClientKey)
	defer r.svc.release(first)
	// Pipelining batches requests under load; when the instance is not busy
	// the pool answers sooner (a batch waits for its flush timer, which the
	// Go runtime cannot fire in less than about a millisecond when idle).
	pipelined := r.pipes != nil && retryable && pipelinable(ctx.Method()) && r.svc.busy(first)
	var req *fasthttp.Request
	if forwardInPlace(ctx, r.cfg.Rewrite, hasBody, pipelined) {
		// The common request (no body, target unchanged) goes up as the
		// client's own, its head written from the client's header: no
		// copy of it.
		req = &ctx.Request
		c.prepareInPlace(ctx, &in, r.svc.instances[first])
		defer c.restoreInPlace(ctx)
	} else {
		req = &c.req
		c.copyRequestHeaders(ctx, &req.Header, &in, r.cfg.Rewrite)
		req.UseHostHeader = true
		if streamed {
			cl := ctx.Request.Header.ContentLength()
			c.body.Reset(stream, limit, int64(cl))
			req.SetBodyStream(&c.body, cl)
		} else if hasBody {
			req.SetBodyRaw(body)
		}
		if len(req.Header.Host()) == 0 {
			// An HTTP/1.0 client may send no Host; upstreams need one.
			req.Header.SetHost(r.svc.instances[first])
		}
	}
	req.SetUserValue(callKey{}, c)
	c.body.OnFail = respAborter{resp}
	maxFailover := 0
	if retryable && r.t.opts.MaxRetries > 0 {
		maxFailover = min(n-1, r.t.opts.MaxRetries)
	}
	idx, failovers, stale := first, 0, 0
	c.client, c.watchDelay = ctx.Conn(), r.t.opts.ClientWatchDelay
	if !streamed && !pipelined {
		// A pipelined exchange cannot be cancelled alone: it is not
		// watched. A streamed body is read from the client's connection
		// while the request is sent: the watch starts once it is all sent
		// (see exchange).
		c.watch.arm(c.client, c.watchDelay, start)
	}
	var err error
	for {
		out.Attempts++
		out.Addr = r.svc.instances[idx]
		hc := r.clients[idx]
		if pipelined && r.pipeOK[idx].Load() {
			err = r.pipes[idx].DoDeadline(req, resp, deadline)
			out.Pipelined = err == nil
			if err != nil && !isTimeout(err) {
				// The pipelined connection broke (or could not be
				// dialled): stop pipelining to this instance and send the
				// request again — it is safe and idempotent — through the
				// pool, which fails at once on a dead instance and so
				// fails over to the next one.
				r.pipeOK[idx].Store(false)
				if stale < maxStaleRetries {
					stale++
					continue
				}
			}
		} else {
			err = hc.DoDeadline(req, resp, deadline)
			if err == nil && pipelined {
				r.pipeOK[idx].Store(true)
			}
		}
		if err == nil || c.watch.gone.Load() {
			break
		}
		if stale < maxStaleRetries && resendable(err) {
			// Nothing reached the upstream: send it again, whatever the
			// method. A pooled connection the upstream closed while idle
			// means the ones pooled before it are older still: drop them.
			stale++
			if errors.Is(err, errIdleClosed) {
				hc.CloseIdleConnections()
			}
			continue
		}
		if !retryable {
			break
		}
		if stale < maxStaleRetries && !isTimeout(err) && staleConn(resp) {
			// The upstream closed this idle connection; the ones pooled
			// before it are older still. Drop them and replay.
			stale++
			hc.CloseIdleConnections()
			continue
		}
		r.svc.ej.Report(idx, false)
		if failovers < maxFailover && isDialError(err) {
			failovers++
			tried.Set(idx)
			idx = r.svc.nextTarget(eligible, tried, idx, fb)
			continue
		}
		break
	}
	c.watch.disarm()
	gone := err != nil && c.watch.gone.Load()
	switch {
	case err == nil:
		r.svc.ej.Report(idx, resp.StatusCode() < 500)
	case gone: // the client left; the upstream did nothing wrong
	case !retryable && c.body.Err() == nil: // a broken client body is not the upstream's fault
		r.svc.ej.Report(idx, false)
	}
	c.body.OnFail = nil
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		if gone {
			// Nobody will read the answer; the status is for the log and
			// metrics (nginx's 499).
			ctx.SetConnectionClose()
			return r.fail(ctx, &in, &out, start, ClassClient,
				httperr.Wrap(StatusClientClosedRequest, err, "client closed the connection before the upstream answered"))
		}
		if streamed && !c.body.EOF() {
			// The rest of the client's body is unread: the connection
			// cannot carry another request.
			ctx.SetConnectionClose()
		}
		if berr := c.body.Err(); berr != nil {
			class := ClassClient
			if errors.Is(berr, fasthttp.ErrBodyTooLarge) {
				class = ClassBodyTooLarge
			}
			return r.fail(ctx, &in, &out, start, class, bodylimit.HTTPError(berr, limit))
		}
		class, he := upstreamError(err, r.svc.name, out.Addr)
		return r.fail(ctx, &in, &out, start, class, he)
	}

	out.Streamed, err = r.t.writeResponse(ctx, resp, c, &in)
	if err != nil {
		class, he := upstreamError(err, r.svc.name, out.Addr)
		return r.fail(ctx, &in, &out, start, class, he)
	}
	out.Status = ctx.Response.StatusCode()
	out.Duration = time.Since(start)
	return out
}

// StatusClientClosedRequest is the status recorded for a request whose
// client went away while it waited for the upstream (nginx's 499).
const StatusClientClosedRequest = 499

// resendable reports whether a failed exchange may be sent again on another
// connection whatever its method: no byte of it reached the upstream.
func resendable(err error) bool {
	var ns *notSentError
	return errors.As(err, &ns)
}

// fail answers ctx with he and completes out.
func (r *Route) fail(ctx *fasthttp.RequestCtx, in *Input, out *Outcome, start time.Time, class ErrorClass, he *httperr.Error) Outcome {
	httperr.Write(ctx, nil, in.RequestID, he)
	if in.RequestID != "" {
		ctx.Response.Header.Set(HeaderRequestID, in.RequestID)
	}
	out.Class = class
	out.Status = he.Status
	out.Err = he
	out.Duration = time.Since(start)
	return *out
}
