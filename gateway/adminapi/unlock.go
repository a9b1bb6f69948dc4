package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/cidr"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/strictjson"
)

// UnlockResult says what Unlock changed.
type UnlockResult struct {
	Address string `json:"address"`
	// Bans are the bans lifted, "<prefix>" or "<prefix> on <route>".
	Bans []string `json:"bans"`
	// ACL lists the ACL changes by field, e.g. "acl.deny[0]: removed
	// 198.51.100.0/24" or "routes[1].acl.allow: added 198.51.100.7".
	ACL []string `json:"acl"`
	// Version is the edge config version after the change (unchanged when
	// the ACLs did not shut the address out).
	Version int64 `json:"version"`
}

// Unlock lets addr back in: it lifts every ban (global or on a route)
// covering addr, removes every deny entry covering it and adds it to every
// non-empty allow list that does not admit it, in the global ACL and every
// route's. It is the way back for an admin who forced a lock-out.
func (f *Function) Unlock(ctx context.Context, addr netip.Addr, by string) (UnlockResult, error) {
	addr = addr.Unmap()
	res := UnlockResult{Address: addr.String(), Bans: []string{}, ACL: []string{}}
	bans, err := f.opts.Bans.List(ctx)
	if err != nil {
		return res, fmt.Errorf("cannot unlock %s: %w", addr, err)
	}
	for _, b := range bans {
		if !b.Prefix.Contains(addr) {
			continue
		}
		if err := f.opts.Bans.UnbanRoute(ctx, b.Route, b.Prefix); err != nil && !errors.Is(err, store.ErrNotFound) {
			return res, fmt.Errorf("cannot unlock %s: %w", addr, err)
		}
		if b.Route == "" {
			res.Bans = append(res.Bans, b.Prefix.String())
		} else {
			res.Bans = append(res.Bans, b.Prefix.String()+" on "+b.Route)
		}
	}
	guard := []netip.Addr{addr}
	if len(edgeLockoutsNow(ctx, f, guard)) == 0 {
		d, _, err := f.opts.Edge.Get(ctx)
		res.Version = d.Version
		return res, err
	}
	d, err := f.opts.Edge.Update(ctx, by, "unlock "+addr.String(), func(e *config.Edge) error {
		res.ACL = res.ACL[:0]
		res.ACL = append(res.ACL, admit(&e.ACL, "acl", addr)...)
		for i := range e.Routes {
			res.ACL = append(res.ACL, admit(&e.Routes[i].ACL, "routes["+strconv.Itoa(i)+"].acl", addr)...)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("cannot unlock %s: %w", addr, err)
	}
	res.Version = d.Version
	return res, nil
}

// edgeLockoutsNow reads the edge config and lists the lock-outs of addrs.
func edgeLockoutsNow(ctx context.Context, f *Function, addrs []netip.Addr) []lockout {
	d, _, err := f.opts.Edge.Get(ctx)
	if err != nil {
		return []lockout{{key: "unknown"}} // let Update report the store error
	}
	return edgeLockouts(d.Edge, addrs)
}

// admit changes one ACL so that it admits addr and reports the changes.
func admit(a *config.ACLConfig, field string, addr netip.Addr) []string {
	var out []string
	kept := a.Deny[:0:0]
	for i, c := range a.Deny {
		if p, err := cidr.Parse(c); err == nil && p.Contains(addr) {
			out = append(out, fmt.Sprintf("%s.deny[%d]: removed %s", field, i, c))
			continue
		}
		kept = append(kept, c)
	}
	if len(kept) != len(a.Deny) {
		a.Deny = kept
	}
	if len(a.Allow) > 0 && !slices.ContainsFunc(a.Allow, func(c string) bool {
		p, err := cidr.Parse(c)
		return err == nil && p.Contains(addr)
	}) {
		a.Allow = append(a.Allow, addr.String())
		out = append(out, fmt.Sprintf("%s.allow: added %s", field, addr))
	}
	return out
}

// Authenticator resolves a bearer token (internal/auth.Service).
type Authenticator interface {
	Authenticate(ctx context.Context, plain string) (auth.Principal, error)
}

// UnlockHandler serves POST /admin/unlock for the internal listener (see
// internal/ops): body {"address": "198.51.100.7"}; 200 with an
// UnlockResult. It answers loopback peers only, whatever address the
// internal listener is bound to, so only someone on the gateway host can
// use it, and only with an admin token: a lock-out shuts an address out
// of the gateway, not a token out of the API, and apps deployed on the
// host are loopback peers too.
func (f *Function) UnlockHandler(tokens Authenticator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackPeer(r.RemoteAddr) {
			writeUnlockJSON(w, http.StatusForbidden, map[string]string{"error": "unlock is served to loopback clients only; run it on the gateway host"})
			return
		}
		plain, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || plain == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeUnlockJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing bearer token: send Authorization: Bearer <admin token> (wharf acl unlock reads --token, WHARF_TOKEN or data/admin.token)"})
			return
		}
		p, err := tokens.Authenticate(r.Context(), strings.TrimSpace(plain))
		if err != nil {
			writeUnlockJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid token"})
			return
		}
		if !p.IsAdmin() {
			writeUnlockJSON(w, http.StatusForbidden, map[string]string{"error": "unlock needs an admin token"})
			return
		}
		// A web page open in a browser on the gateway host must not
		// unlock anything (cross-site POST, DNS rebinding): browsers send
		// Origin or Sec-Fetch-Site, cannot send a JSON body cross-site
		// without a preflight this handler never answers, and a rebound
		// name is not a loopback literal.
		if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" || !loopbackHost(r.Host) {
			writeUnlockJSON(w, http.StatusForbidden, map[string]string{"error": "unlock is not served to browsers: call it with curl or wharf acl unlock on the gateway host, Host 127.0.0.1 or localhost"})
			return
		}
		if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
			writeUnlockJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "Content-Type: must be application/json"})
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, 4096))
		if err != nil {
			writeUnlockJSON(w, http.StatusBadRequest, map[string]string{"error": "cannot read the request body"})
			return
		}
		var body struct {
			Address string `json:"address"`
		}
		if err := strictjson.Decode(b, &body); err != nil {
			writeUnlockJSON(w, http.StatusBadRequest, map[string]string{"error": "request body must be {\"address\": \"<IP>\"}: " + err.Error()})
			return
		}
		addr, err := netip.ParseAddr(body.Address)
		if err != nil || addr.Zone() != "" {
			writeUnlockJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("address: must be an IP address, got %q", body.Address)})
			return
		}
		res, err := f.Unlock(r.Context(), addr, "unlock@internal")
		if err != nil {
			f.opts.Logger.Error("unlock failed", "address", addr.String(), "err", err)
			writeUnlockJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "cannot unlock: store unavailable"})
			return
		}
		f.opts.Logger.Warn("address unlocked on the internal listener", "address", res.Address, "bans", res.Bans, "acl", res.ACL, "version", res.Version)
		writeUnlockJSON(w, http.StatusOK, res)
	})
}

// loopbackHost reports whether a Host header names the loopback
// interface: localhost or a loopback address, with an optional port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func loopbackPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func writeUnlockJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
