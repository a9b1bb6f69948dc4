package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// HeaderRequestID carries the request id to upstreams, functions and the client.
const HeaderRequestID = "X-Request-Id"

// requestIDs makes ids unique across processes (random prefix) and cheap (counter).
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() (*requestIDs, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("cannot read random bytes: %w", err)
	}
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}, nil
}

// node is the random prefix without its dash: this process's name among
// the gateway nodes.
func (r *requestIDs) node() string { return r.prefix[:len(r.prefix)-1] }

func (r *requestIDs) next() string {
	var buf [32]byte
	out := append(buf[:0], r.prefix...)
	out = strconv.AppendUint(out, r.n.Add(1), 36)
	return string(out)
}

// validRequestID accepts 1–128 characters of [A-Za-z0-9._:-].
func validRequestID(b []byte) bool {
	if len(b) == 0 || len(b) > 128 {
		return false
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// requestID keeps a well-formed incoming X-Request-Id from a trusted peer and
// otherwise makes a new one; the request header is rewritten to the result.
func (g *Gateway) requestID(ctx *fasthttp.RequestCtx, trustedPeer bool) string {
	if trustedPeer {
		if in := ctx.Request.Header.Peek(HeaderRequestID); validRequestID(in) {
			return string(in)
		}
	}
	id := g.ids.next()
	ctx.Request.Header.SetCanonical([]byte(HeaderRequestID), []byte(id))
	return id
}

// setResponseRequestID sets the answer's X-Request-Id to id. The name is
// in canonical form and id a valid request id (validRequestID: no CR or
// LF), so SetCanonical skips what Set would do on every request: normalize
// the name and scrub the value.
func setResponseRequestID(ctx *fasthttp.RequestCtx, id string) {
	ctx.Response.Header.SetCanonical([]byte(HeaderRequestID), []byte(id))
}
