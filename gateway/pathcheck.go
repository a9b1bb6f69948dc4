package gateway

import (
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/route"
	"github.com/wharfhq/wharf/internal/httperr"
)

// readsElsewhere reports whether a request that matched the service route
// index on its normalized path would match another route (or none) if read
// as a lenient upstream reads it: "/admin;x/y" or "/admin\y" match "/" here
// but are /admin/y to Tomcat or IIS (see route.Ambiguous). Ordinary paths
// cost one byte scan.
func readsElsewhere(snap *snapshot, ctx *fasthttp.RequestCtx, index int) bool {
	path := ctx.Path()
	if !route.Ambiguous(path) {
		return false
	}
	var buf [512]byte
	l := route.AppendLenient(buf[:0], path)
	return snap.router.Match(ctx.Host(), l, ctx.Method()).Index != index
}

// ambiguousPath is the answer to a request readsElsewhere refuses.
func ambiguousPath(ctx *fasthttp.RequestCtx) *httperr.Error {
	return httperr.New(fasthttp.StatusBadRequest,
		"ambiguous path %q: servers that ignore ;parameters or take \\ for / read it as another route's; send it without them", ctx.Path())
}
