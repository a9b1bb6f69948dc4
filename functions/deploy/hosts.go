package deploy

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/ident"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/strictjson"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// Bounds of a heartbeat.
const (
	maxLabels = 64
	maxApps   = 1000
)

// putHost stores an agent's heartbeat: PUT /api/v1/agents/hosts/{id}.
// Unknown fields are ignored, as wire.ParseEvent does, so that a newer
// agent may add some; everything known is checked.
func (f *Function) putHost(r *fnapi.Request) error {
	id := r.Params.Get("id")
	if msg := checkHostID(id); msg != "" {
		return httperr.BadRequest("id: %s", msg)
	}
	var h wire.Host
	if err := decodeLenient(r.Ctx.PostBody(), &h); err != nil {
		return err
	}
	if h.ID != id {
		return httperr.BadRequest("id: the heartbeat is of host %q but the path names %q", h.ID, id)
	}
	if err := checkHost(h); err != nil {
		return err
	}
	if err := f.bindHost(r, &h); err != nil {
		return err
	}
	h.Seen = f.opts.Now().UTC()
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("cannot encode host %s: %w", id, err)
	}
	ctx, cancel := f.storeCtx(r.Context())
	defer cancel()
	if _, err := f.st.Put(ctx, HostKey(id), b, store.PutOptions{TTL: f.opts.HostTTL}); err != nil {
		return unavailable(err, "cannot store the heartbeat of host %q: store unavailable", id)
	}
	f.m.heartbeats.Inc()
	return r.JSON(fasthttp.StatusOK, h)
}

// bindHost binds the host to the agent token of the heartbeat (the first
// one to send it keeps it; another agent token is a 403) and records the
// address its instances may be registered on (the heartbeat's advertise,
// or the address it came from) and the key its events are signed with;
// either changing is a 409. An admin's heartbeat binds nothing.
func (f *Function) bindHost(r *fnapi.Request, h *wire.Host) error {
	if r.Principal.IsAdmin() {
		return nil
	}
	adv := h.Advertise
	if adv == "" {
		adv = r.Ctx.RemoteIP().String()
		h.Advertise = adv
	}
	if a, err := netip.ParseAddr(strings.Trim(adv, "[]")); err == nil {
		if a = a.Unmap(); a.IsUnspecified() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
			return httperr.BadRequest("advertise: %s is not an address instances can be reached on (unspecified, link-local or multicast)", a)
		}
	}
	b, err := f.hosts.BindHost(r.Context(), h.ID, r.Principal.TokenID, adv, h.PublicKey)
	switch {
	case errors.Is(err, tenancy.ErrKeyFixed):
		return httperr.Conflict("public_key: host %q was bound with the event-signing key %s; an admin must release it (DELETE %s%s/binding) before it may announce %s", h.ID, wire.KeyID(b.PublicKey), wire.HostPath, h.ID, keyName(h.PublicKey))
	case errors.Is(err, tenancy.ErrAdvertiseFixed):
		return httperr.Conflict("advertise: host %q was bound with address %s; an admin must release it (DELETE %s%s/binding) before it may announce %s", h.ID, b.Advertise, wire.HostPath, h.ID, adv)
	case errors.Is(err, tenancy.ErrHostTaken):
		return httperr.Forbidden("host %q is bound to another agent token: an admin can release it (DELETE %s%s/binding)", h.ID, wire.HostPath, h.ID)
	case err != nil:
		return unavailable(err, "cannot bind host %q: store unavailable", h.ID)
	}
	return nil
}

// keyName names a key in messages: its key id, or "no key".
func keyName(pub []byte) string {
	if len(pub) == 0 {
		return "no key"
	}
	return wire.KeyID(pub)
}

// releaseHost unbinds a host from its agent token so that another token
// may send its heartbeats: DELETE /api/v1/agents/hosts/{id}/binding.
func (f *Function) releaseHost(r *fnapi.Request) error {
	id := r.Params.Get("id")
	if msg := checkHostID(id); msg != "" {
		return httperr.BadRequest("id: %s", msg)
	}
	ok, err := f.hosts.ReleaseHost(r.Context(), id)
	switch {
	case err != nil:
		return unavailable(err, "cannot release host %q: store unavailable", id)
	case !ok:
		return httperr.NotFound("host %q is bound to no agent token", id)
	}
	r.Log.Info("host released from its agent token", "host", id, "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusOK, map[string]string{"released": id})
}

// decodeLenient decodes one JSON object into v, ignoring unknown fields;
// errors are 400s naming the field.
func decodeLenient(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return httperr.BadRequest("request body must be a JSON object")
	}
	if err := strictjson.DecodeLenient(body, v); err != nil {
		var te *json.UnmarshalTypeError
		var de *strictjson.DuplicateKeyError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return httperr.BadRequest("%s: want %s, got %s", te.Field, te.Type, te.Value)
		case errors.As(err, &de):
			return httperr.BadRequest("%v; give each key once", de)
		case errors.Is(err, strictjson.ErrTrailingData):
			return httperr.BadRequest("request body must hold one JSON object")
		}
		return httperr.BadRequest("invalid JSON: %v", err)
	}
	return nil
}

// checkHostID returns what is wrong with a host id, or "": the registry's
// rule (1-128 of A-Z a-z 0-9 . _ - :), and its task topic
// deploy.host.<id> must be a valid NSQ topic (no ':', at most 52 bytes).
func checkHostID(id string) string {
	if id == "" || len(id) > 128 {
		return fmt.Sprintf("host ids are 1-128 bytes, got %d", len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:", c) >= 0) {
			return fmt.Sprintf("host ids are of A-Z, a-z, 0-9, '.', '_', '-', ':', got %q", id)
		}
	}
	if err := bus.ValidateTopic(wire.HostTopic(id)); err != nil {
		return fmt.Sprintf("host %q cannot have a task topic: %v (use at most 52 of A-Z, a-z, 0-9, '.', '_', '-')", id, err)
	}
	return ""
}

// checkHost validates a heartbeat's fields but the id.
func checkHost(h wire.Host) error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if h.Room != "" && !ident.Name(h.Room) {
		bad("room: room names are 1-63 of a-z, 0-9, '-', '_', got %q", h.Room)
	}
	if len(h.Labels) > maxLabels {
		bad("labels: at most %d, got %d", maxLabels, len(h.Labels))
	}
	for i, l := range h.Labels {
		if !validLabel(l) {
			bad("labels[%d]: labels are 1-128 of A-Z, a-z, 0-9, '.', '_', '-', ':', '/', '=', got %q", i, l)
		}
	}
	if h.Capacity < 0 {
		bad("capacity: must not be negative, got %d", h.Capacity)
	}
	if len(h.Agent) > 128 {
		bad("agent: at most 128 bytes")
	}
	if h.Advertise != "" && !validAdvertise(h.Advertise) {
		bad("advertise: want a host name or IP address (no port), got %q", h.Advertise)
	}
	if h.PublicKey != nil && len(h.PublicKey) != ed25519.PublicKeySize {
		bad("public_key: want an Ed25519 public key of %d bytes (base64), got %d bytes", ed25519.PublicKeySize, len(h.PublicKey))
	}
	if len(h.Apps) > maxApps {
		bad("apps: at most %d, got %d", maxApps, len(h.Apps))
	}
	for app, s := range h.Apps {
		switch {
		case !validApp(app):
			bad("apps: invalid app name %q", app)
		case s.Version != "" && !catalog.ValidVersion(s.Version):
			bad("apps.%s.version: invalid version %q", app, s.Version)
		case s.Previous != "" && !catalog.ValidVersion(s.Previous):
			bad("apps.%s.previous: invalid version %q", app, s.Previous)
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return httperr.BadRequest("invalid heartbeat: %s", strings.Join(errs, "; "))
	}
	return nil
}

// validAdvertise reports whether s can be the host part of an address:
// an IP address or a DNS name.
func validAdvertise(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	if len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return s != ""
}

func validLabel(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:/=", c) >= 0) {
			return false
		}
	}
	return true
}

// HostsResponse is the answer of GET /api/v1/agents/hosts.
type HostsResponse struct {
	Hosts []wire.Host `json:"hosts"`
}

func (f *Function) listHosts(r *fnapi.Request) error {
	hosts, err := f.liveHosts(r.Context())
	if err != nil {
		return err
	}
	if hosts == nil {
		hosts = []wire.Host{}
	}
	return r.JSON(fasthttp.StatusOK, HostsResponse{Hosts: hosts})
}

// liveHosts returns the hosts whose heartbeat has not expired, by id.
func (f *Function) liveHosts(ctx context.Context) ([]wire.Host, error) {
	var out []wire.Host
	err := f.scan(ctx, hostsPrefix, func(e store.Entry) error {
		var h wire.Host
		if err := json.Unmarshal(e.Value, &h); err != nil {
			f.log.Warn("cannot decode a heartbeat", "key", e.Key, "err", err)
			return nil
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

// planHosts turns heartbeats into the hosts plan.SelectTargets picks from;
// keep filters them.
func planHosts(hosts []wire.Host, keep func(wire.Host) bool) []plan.Host {
	var out []plan.Host
	for _, h := range hosts {
		if keep == nil || keep(h) {
			out = append(out, plan.Host{ID: h.ID, Room: h.Room, Labels: h.Labels, Alive: true})
		}
	}
	return out
}

// observe is what Step needs to know about rec's world at now: each
// target's last heartbeat (Down when its key expired) and, when the gate
// of the current step waits for its window's measurement, the sample.
func (f *Function) observe(ctx context.Context, rec *plan.Record, hosts map[string]wire.Host, now time.Time) plan.Observations {
	obs := plan.Observations{Hosts: make(map[string]plan.HostStatus, len(rec.Targets))}
	for _, t := range rec.Targets {
		if h, ok := hosts[t.Host]; ok {
			obs.Hosts[t.Host] = plan.HostStatus{LastHeartbeat: h.Seen}
		} else {
			obs.Hosts[t.Host] = plan.HostStatus{Down: true}
		}
	}
	w, ok := rec.GateWindow()
	if !ok || f.opts.Gate == nil || now.Before(w.To) {
		return obs
	}
	gctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
	defer cancel()
	s, ok, err := f.opts.Gate.Sample(gctx, rec.App, rec.Version, w)
	switch {
	case err != nil:
		f.log.Warn("cannot measure the error rate", "deploy", rec.ID, "step", w.Step, "err", err)
	case ok:
		s.Step = w.Step
		obs.Gate = &s
	}
	return obs
}
