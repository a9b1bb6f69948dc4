package gateway

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/realip"
)

// keyKind is what a limit counts by.
type keyKind uint8

const (
	keyIP      keyKind = iota // the client's address (IPv6 aggregated to its prefix)
	keyHeader                 // a request header's value; absent → the limit is skipped
	keyRoute                  // the route: one budget shared by every client
	keyIPRoute                // the client's address on this route
)

// keySpec says how to build one limit's key for one route.
type keySpec struct {
	kind   keyKind
	header string // keyHeader
	route  []byte // keyRoute, keyIPRoute: "\x00" + route name, so it never collides with an IP key
}

// MaxHeaderKey is the longest header value used as a limit key as is; longer
// values are cut to this length.
const MaxHeaderKey = 256

func parseKey(key, route string) (keySpec, error) {
	r := []byte("\x00" + route)
	switch {
	case key == "ip":
		return keySpec{kind: keyIP}, nil
	case key == "route":
		return keySpec{kind: keyRoute, route: r}, nil
	case key == "ip+route":
		return keySpec{kind: keyIPRoute, route: r}, nil
	case strings.HasPrefix(key, "header:") && len(key) > len("header:"):
		return keySpec{kind: keyHeader, header: key[len("header:"):]}, nil
	}
	return keySpec{}, fmt.Errorf("unknown limit key %q", key)
}

// keyBuf holds one request's limit keys without allocating: IP-based keys
// are written into buf; header keys point into the request (valid until the
// handler returns, and the limiter copies a key it keeps).
type keyBuf struct {
	buf  [16 * (realip.KeyLen + 64)]byte
	keys [16][]byte
	// sticky holds the client key of a sticky room choice.
	sticky [realip.KeyLen]byte
}

// build fills kb.keys for specs and returns them.
func (kb *keyBuf) build(specs []keySpec, ctx *fasthttp.RequestCtx, ip *realip.Resolver, client netip.Addr) [][]byte {
	out := kb.buf[:0]
	for i, s := range specs {
		switch s.kind {
		case keyIP:
			start := len(out)
			out = ip.AppendKey(out, client)
			kb.keys[i] = out[start:len(out):len(out)]
		case keyIPRoute:
			start := len(out)
			out = ip.AppendKey(out, client)
			n := min(len(s.route), 64)
			out = append(out, s.route[:n]...)
			kb.keys[i] = out[start:len(out):len(out)]
		case keyRoute:
			kb.keys[i] = s.route
		case keyHeader:
			v := ctx.Request.Header.Peek(s.header)
			if len(v) > MaxHeaderKey {
				v = v[:MaxHeaderKey]
			}
			kb.keys[i] = v
		}
	}
	return kb.keys[:len(specs)]
}
