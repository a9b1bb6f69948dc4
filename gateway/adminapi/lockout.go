package adminapi

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
)

// localAgent is where the CLI (by default) and the local agent reach the
// gateway from. ::1 is not guarded unless it is the caller, so that an
// allow list need not name it on an IPv4-only host.
func localAgent() netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, 1}) }

// guarded returns the addresses no change may lock out unless forced: the
// caller as the gateway sees it, 127.0.0.1 and Options.Protected.
func (f *Function) guarded(r *fnapi.Request) []netip.Addr {
	var caller netip.Addr
	if f.opts.ClientIP != nil {
		caller = f.opts.ClientIP(r.Ctx)
	} else if a, ok := netip.AddrFromSlice(r.Ctx.RemoteIP()); ok {
		caller = a
	}
	out := make([]netip.Addr, 0, 2+len(f.opts.Protected))
	for _, a := range append([]netip.Addr{caller, localAgent()}, f.opts.Protected...) {
		if a = a.Unmap(); a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// lockout is one list entry (or allow list) that shuts an address out.
type lockout struct {
	// key identifies the lock-out independent of list positions, to tell
	// new lock-outs from those a config already had.
	key string
	// msg names the field, the entry and the address.
	msg string
}

// aclLockouts lists what in an ACL shuts any of addrs out; field is the
// ACL's path ("acl", "routes[2].acl"), scope its identity ("" or the route).
func aclLockouts(field, scope string, a config.ACLConfig, addrs []netip.Addr) []lockout {
	var out []lockout
	for _, addr := range addrs {
		for i, c := range a.Deny {
			if p, err := cidr.Parse(c); err == nil && p.Contains(addr) {
				out = append(out, lockout{
					key: scope + "|deny|" + p.String() + "|" + addr.String(),
					msg: fmt.Sprintf("%s.deny[%d]: %s would lock out %s", field, i, c, addr),
				})
			}
		}
		if len(a.Allow) > 0 && !slices.ContainsFunc(a.Allow, func(c string) bool {
			p, err := cidr.Parse(c)
			return err == nil && p.Contains(addr)
		}) {
			out = append(out, lockout{key: scope + "|allow|" + addr.String(), msg: fmt.Sprintf("%s.allow: does not admit %s", field, addr)})
		}
	}
	return out
}

// edgeLockouts lists every lock-out of addrs in an edge config: the global
// ACL and every route's.
func edgeLockouts(e config.Edge, addrs []netip.Addr) []lockout {
	out := aclLockouts("acl", "", e.ACL, addrs)
	for i, rt := range e.Routes {
		out = append(out, aclLockouts("routes["+strconv.Itoa(i)+"].acl", "route:"+rt.Name, rt.ACL, addrs)...)
	}
	return out
}

// newLockouts returns the messages of the lock-outs in after that before
// did not have.
func newLockouts(before, after []lockout) []string {
	var out []string
	for _, l := range after {
		if !slices.ContainsFunc(before, func(b lockout) bool { return b.key == l.key }) {
			out = append(out, l.msg)
		}
	}
	return out
}

// forceHint ends every lock-out refusal.
const forceHint = `; this would lock out the caller, the CLI or the local agent: send "force": true (CLI: --force) to do it anyway; POST /admin/unlock on the internal listener lets an address back in`

// forced reports whether the request says ?force=true.
func forced(r *fnapi.Request) bool {
	v := string(r.Ctx.QueryArgs().Peek("force"))
	return v == "true" || v == "1"
}

// lockoutMessage joins lock-out messages for a 409.
func lockoutMessage(msgs []string) string { return strings.Join(msgs, "; ") + forceHint }
