// Package proxy is the gateway's reverse proxy to app instances, on
// fasthttp.HostClient connection pools with keep-alive.
//
// # Pieces
//
//   - Transport owns the pools: one HostClient per (instance address,
//     connect timeout, idle timeout). It outlives config snapshots: a Route
//     built from a new snapshot gets the same HostClient for an address that
//     is still present, so its keep-alive connections survive reloads. Prune
//     (after a grace period) or PruneNow drop pools no live route uses.
//   - Service is immutable, built per snapshot: name, static instance list,
//     and a Picker (RoundRobin by default; the seam for weights and rooms).
//   - Route binds a Service to pools with one route's timeouts and body
//     limit; Route.Serve proxies one request and returns an Outcome.
//
// # Timeouts
//
// fasthttp v1.74 fixes the dialer and idle handling per HostClient but takes
// a timeout per request, so:
//
//   - connect: the pool's DialTimeout caps each dial at the route's connect
//     timeout (fasthttp hands it what is left of the request deadline; the
//     smaller wins). Routes with a non-default connect timeout therefore get
//     their own pool per instance.
//   - response: HostClient.DoDeadline with a deadline fixed when Serve
//     starts. fasthttp applies it as the connection's write and read
//     deadline, so it bounds the whole exchange: waiting for a pooled
//     connection, dial, sending the request and its body, reading headers
//     and body — including a body streamed to the client after Serve
//     returned — and it is shared by retries. HostClient.ReadTimeout and
//     WriteTimeout stay zero.
//   - idle: HostClient.MaxIdleConnDuration (part of the pool key). Keep it
//     below the upstream's keep-alive timeout.
//
// Defaults (Options): connect 2s, response 30s, idle 90s.
//
// # Headers
//
// Hop-by-hop headers are dropped in both directions: Connection, Keep-Alive,
// Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE, Trailer,
// Transfer-Encoding, Upgrade, and every header named by a token of any
// Connection header instance. fasthttp re-frames bodies itself
// (Content-Length or chunked). The upstream request keeps the client's Host
// (like nginx "proxy_set_header Host $host": the Host header, or the
// authority of an absolute-form URI, lowercased by fasthttp), so upstreams
// see the public host name and the instance address is only dialed; an
// HTTP/1.0 request without Host gets the instance address. The request URI
// is the client's, unnormalized, in origin-form — unless the route rewrites
// (RouteConfig.Rewrite, see route.Rewrite): then its path is the rewritten
// one, the query the client's, and X-Forwarded-Prefix names the prefix taken
// off (after a trusted peer's own). The proxy sets X-Forwarded-For,
// X-Forwarded-Proto, X-Forwarded-Host and X-Request-Id. From
// a peer that is not a trusted proxy, Forwarded, X-Real-IP, True-Client-IP,
// CF-Connecting-IP, X-Client-IP, X-Cluster-Client-IP, Fastly-Client-IP,
// X-Forwarded, Forwarded-For, X-Original-Forwarded-For, Client-IP,
// X-Originating-IP, X-Remote-IP, X-Remote-Addr, X-Forwarded-Port and
// X-Forwarded-Prefix are dropped, so no header the upstream may read a client address from can be
// forged; see Input for what a trusted peer may pass on. "Expect: 100-continue" is
// dropped: the gateway's server already answered it. Upstream Date and
// Server headers are replaced by the gateway's own, as nginx does. Header
// names are compared without case and with '_' and '-' alike: CGI-style
// upstreams read "X_Real_IP" as X-Real-IP, so a dropped or rewritten header
// does not get through spelled with underscores.
//
// The common request is not copied: one without a body, not pipelined,
// whose target goes up unchanged (an origin-form target that is the path
// the router saw, with a non-empty query or none — no fragment, on a route
// that does not rewrite it) is forwarded in place (inplace.go). The client's own
// request goes to the pool, and the upstream head is written straight from
// the client's parsed header: the request line as sent with HTTP/1.1, the
// Host, the client's end-to-end headers in their order, and the proxy's
// headers, by the rules above. The client's header is never changed, so its
// protocol, its "Connection: close" and every header it sent are still
// there for the server and the access log; the upstream connection stays
// alive. Any other request is copied into the call's own request. Both give
// the upstream the same request (FuzzInPlaceMatchesCopy).
//
// # Bodies
//
// The gateway server runs with StreamRequestBody, so fasthttp's
// MaxRequestBodySize does not cap bodies. Serve answers a Content-Length over
// the route limit with 413 before contacting an upstream; other bodies are
// forwarded as a stream (fixed length, or chunked when the client sent
// chunked) through a reader that stops at the limit: the upstream request is
// aborted mid-body and the client gets 413. An aborted upstream connection
// is reset (RST), not closed: fasthttp's own server would read a chunked
// body cut at a chunk boundary, or a body short of its Content-Length, as
// complete. Function routes use bodylimit.Read or bodylimit.Stream for the same
// protection. Whenever a request body is left partly unread the client
// connection is closed after the answer.
//
// Upstream responses up to Options.BufferResponseBytes (by Content-Length)
// are read whole before answering; larger, chunked or close-delimited ones
// are streamed to the client (HostClient.StreamResponseBody), see
// writeResponse.
//
// # Exchanges
//
// Every pool's HostClient runs its exchanges through the proxy's own
// fasthttp.RoundTripper (exchange.go), on the pool's connections
// (AcquireConn, ReleaseConn, CloseConn), so that Serve knows which
// connection an exchange uses, whether it was reused, and whether any byte
// of the request was written. A streamed response body holds its connection
// until the body is read to the end (back to the pool) or dropped (closed).
//
// A connection on which the upstream sent bytes nobody asked for is out of
// step (the next request written on it would get them as its answer) and is
// never used again: bytes read along with an answer, past its end, close it
// when the exchange ends; bytes that arrive while it is idle in the pool are
// found by the look before the next request is written on it (see Retries).
// That look is why it stays, even for requests that could be replayed.
//
// # A client that goes away
//
// A request still waiting for its upstream after Options.ClientWatchDelay
// (default 100ms) gets a watcher on the client's socket (see clientWatch):
// it peeks without consuming on each readiness event, and when the client
// has closed or reset its connection it closes the upstream connection of
// the exchange. Serve then returns at once with status 499 (class client),
// the request's concurrency slots (limit_conn, adaptive limit) are freed,
// and the instance is not blamed. A request with a body is watched only once
// all of its body has been read from the client and sent (until then the
// client's connection is being read); pipelined requests are not watched.
//
// # Retries
//
// fasthttp's own retries are off (MaxIdemponentCallAttempts 1, RetryIfErr
// false); Serve decides.
//
// Any request, whatever its method and body, is sent again (at most twice)
// when no byte of it reached the upstream, so the upstream cannot have acted
// on it:
//
//   - a reused pooled connection is looked at before the request is written
//     (one non-blocking peek); when the upstream has closed or reset it
//     while it was idle, it is dropped with the pool's other idle
//     connections and the request goes out on a fresh one — its body, even
//     a streamed one, is still unread;
//   - writing the request failed before a byte reached the socket, and its
//     body is in memory.
//
// Besides, only a request with an idempotent method (GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE) and no body is retried, and only when
//
//   - no connection could be had to an instance (connect failure): it goes to
//     the next instance, at most min(instances-1, Options.MaxRetries) times;
//   - it was sent on a reused keep-alive connection that then answered
//     nothing (the upstream closed it as the request arrived): it is
//     replayed on the same instance, at most twice. A fresh connection that
//     fails is not replayed.
//
// Timeouts after sending, resets on fresh connections and 5xx answers are
// never retried. A request with a body that the upstream may have received
// before the connection dropped fails with 502: the window is the time
// between the peek and the upstream reading the request, so keeping the
// idle timeout below the upstream's keep-alive timeout still helps.
//
// # Not supported
//
// Protocol upgrades (WebSocket, h2c): Upgrade is hop-by-hop and dropped.
// Early upstream answers: fasthttp sends the whole request body before it
// reads the response, so an upstream that answers (say 401) without reading
// a large body is seen only after the body is sent, or as a failure.
// TLS to upstreams: instances are dialed in plain HTTP/1.1.
package proxy
