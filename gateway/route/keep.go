package route

import "strings"

// Keep returns the Rewrite of a route with path from that does not change
// the path: the upstream gets the request target as the client sent it
// when that is safe, and the normalized path the router matched otherwise,
// by the rules of Rewrite (the route's own path is sent as the route spells
// it, percent-encoded where a URI path needs it: a request for /adm%69n/x
// matched by the route /admin/ goes up as /admin/x).
//
// This closes the path confusion between the gateway, which routes and
// applies ACLs, bans and limits on the normalized path, and an upstream
// that reads the raw target in its own way: "/admin/..%2Fpublic/x" is
// routed as /public/x and sent so; "/public/..;/admin/x", which Tomcat reads
// as /admin/x, is sent as /public/admin/x.
func Keep(from string) *Rewrite {
	if !strings.HasPrefix(from, "/") {
		from = "/" + from
	}
	return &Rewrite{from: from, to: string(appendPathEscaped(nil, from)), keep: true}
}

// Keeps reports whether rw was made by Keep: the path stays as it is, and
// no X-Forwarded-Prefix is set.
func (rw *Rewrite) Keeps() bool { return rw.keep }

// Unchanged reports whether AppendPath would append raw itself: the
// request target can go upstream as the client sent it, without a copy.
// It is the check of every ordinary request and does not allocate.
func (rw *Rewrite) Unchanged(raw, norm []byte) bool {
	n := len(rw.from)
	if len(norm) < n || string(norm[:n]) != rw.from {
		return false
	}
	if string(raw) == string(norm) && plainPath(raw) {
		// Nothing to decode, and fasthttp's normalized path has no "//",
		// so no empty segment; without "\" or a "." opening a segment,
		// no dot segment either, however an upstream reads it.
		return string(raw[:n]) == rw.to
	}
	at, ok := rawOffset(raw, norm, n)
	if !ok || string(raw[:at]) != rw.to {
		return false
	}
	rest := raw[at:]
	if encodedSlash(rest) || len(rest) > 0 && rest[0] == '/' && strings.HasSuffix(rw.to, "/") {
		return false // join would change it
	}
	return SafePath(raw)
}

// plainPath reports whether p holds no "%", no "\\" and no segment that
// starts with ".".
func plainPath(p []byte) bool {
	for i, c := range p {
		switch {
		case c == '%', c == '\\':
			return false
		case c == '.' && i > 0 && p[i-1] == '/':
			return false
		}
	}
	return true
}

// AppendClean appends norm, a normalized path, as a safe URI path: "/"
// followed by its segments percent-encoded, without empty, "." or ".."
// segments (see Rewrite). It is the fallback for a path no Rewrite applies
// to.
func AppendClean(dst, norm []byte) []byte {
	if len(norm) > 0 && norm[0] == '/' {
		norm = norm[1:]
	}
	return appendRebuilt(dst, "/", norm)
}

// appendPathEscaped appends p, a path, with each byte of its segments that
// may not stand unencoded in a URI path percent-encoded; slashes are kept.
func appendPathEscaped(dst []byte, p string) []byte {
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return appendEscaped(dst, []byte(p))
		}
		dst = append(appendEscaped(dst, []byte(p[:i])), '/')
		p = p[i+1:]
	}
}
