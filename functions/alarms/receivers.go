package alarms

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/amroute"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/receiver"
)

// ReceiverPut is the body of PUT /api/v1/receivers/{team}/{name}: the
// receiver (name and team default to the path's) and, write-only, the
// HMAC secret that its secret_ref names. The secret is kept under
// wire.SecretKey and never answered, logged or published.
type ReceiverPut struct {
	receiver.Receiver
	Secret string `json:"secret,omitempty"`
	// Version, when above 0, is the version the writer read: the PUT is
	// refused with 409 when the receiver is at another one (as version=
	// and If-Match, which take precedence).
	Version int64 `json:"version,omitempty"`
}

// VersionedReceiver is a receiver as stored and answered: with its
// version, 1 for the first write and one more for every write after.
type VersionedReceiver struct {
	receiver.Receiver
	Version int64 `json:"version"`
}

// ReceiverList is the answer of GET /api/v1/receivers/{team}.
type ReceiverList struct {
	Receivers []VersionedReceiver `json:"receivers"`
}

// receiverDoc is receiver name of team as a versioned document.
func receiverDoc(team, name string) versionedDoc {
	return versionedDoc{key: wire.ReceiverKey(team, name), noun: "receiver", what: fmt.Sprintf("receiver %q of team %q", name, team)}
}

// putReceiver creates or replaces a receiver (validated with
// receiver.Compile, 400 naming the field). version= (or If-Match, or
// "version" in the body) makes it a compare-and-swap on the version read
// before: 409 when another write came first (0: there must be none).
func (f *Function) putReceiver(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	args, err := versionedPutArgs(r)
	if err != nil {
		return err
	}
	var in ReceiverPut
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	var problems fielderr.List
	if in.Name != "" && in.Name != name {
		problems.Add("name", fmt.Sprintf("must be the path's %q or absent", name))
	}
	if in.Team != "" && in.Team != team {
		problems.Add("team", fmt.Sprintf("must be the path's %q or absent", team))
	}
	in.Name, in.Team = name, team
	if _, err := receiver.Compile(in.Receiver); err != nil {
		var l fielderr.List
		if !errors.As(err, &l) {
			return httperr.BadRequest("invalid receiver: %v", err)
		}
		problems = append(problems, l...)
	}
	if in.URL != "" && team != wire.GlobalTeam && f.opts.Egress != nil {
		ctx, cancel := f.storeCtx(r)
		err := f.opts.Egress.CheckURL(ctx, in.URL, nil)
		cancel()
		if err != nil {
			problems.Add("url", err.Error()+"; an admin may allow a network with notify.allow_receiver_networks")
		}
	}
	if in.Secret != "" && in.SecretRef == "" {
		problems.Add("secret", "needs secret_ref, the name it is kept under")
	}
	if len(in.Secret) > 4096 {
		problems.Add("secret", "at most 4096 bytes")
	}
	if in.Version < 0 {
		problems.Add("version", "must be the version read before, or absent")
	}
	if len(problems) > 0 {
		return badFields(r, "invalid receiver", problems)
	}
	if args.want < 0 && in.Version > 0 {
		args.want = in.Version
	}
	doc := receiverDoc(team, name)
	var sec secretWrite
	if in.Secret != "" {
		// The secret's version is read before the receiver (see storeSecret).
		if sec, err = f.readSecret(r, team, in.SecretRef, in.Secret); err != nil {
			return err
		}
	}
	cur, expect, err := readDoc[VersionedReceiver](f, r, doc)
	if err != nil {
		return err
	}
	if err := doc.checkVersion(args, cur.Version); err != nil {
		return err
	}
	next := VersionedReceiver{Receiver: in.Receiver, Version: cur.Version + 1}
	_, ver, err := writeDoc(f, r, doc, expect, next)
	if err != nil {
		return err // a PUT that lost stored nothing, its secret neither
	}
	if in.Secret != "" {
		if err := f.storeSecret(r, doc, ver, sec); err != nil {
			f.undoReceiver(r, doc, ver, expect, cur)
			return err
		}
	}
	return answerReceiver(r, next)
}

// answerReceiver answers a receiver with its version, also as ETag (what
// If-Match takes).
func answerReceiver(r *fnapi.Request, v VersionedReceiver) error {
	r.Ctx.Response.Header.Set("ETag", `"`+strconv.FormatInt(v.Version, 10)+`"`)
	return r.JSON(fasthttp.StatusOK, v)
}

// readReceiver reads receiver name of team; found false when absent.
func (f *Function) readReceiver(r *fnapi.Request, team, name string) (VersionedReceiver, bool, error) {
	if !store.ValidKey(wire.ReceiverKey(team, name)) {
		return VersionedReceiver{}, false, nil
	}
	rc, ver, err := readDoc[VersionedReceiver](f, r, receiverDoc(team, name))
	return rc, ver != 0, err
}

// getReceiver answers one receiver (without its secret).
func (f *Function) getReceiver(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	rc, ok, err := f.readReceiver(r, team, name)
	if err != nil {
		return err
	}
	if !ok {
		return httperr.NotFound("receiver %q of team %q not found", name, team)
	}
	return answerReceiver(r, rc)
}

// listReceivers answers a team's receivers by name.
func (f *Function) listReceivers(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	out := ReceiverList{Receivers: []VersionedReceiver{}}
	prefix := wire.ReceiverPrefix + team + "/"
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return httperr.Unavailable(err, "cannot list receivers")
		}
		var rc VersionedReceiver
		if err := json.Unmarshal(e.Value, &rc); err != nil {
			f.log.Warn("undecodable receiver", "key", e.Key, "err", err)
			continue
		}
		out.Receivers = append(out.Receivers, rc)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// deleteReceiver deletes a receiver that the team's route tree does not
// name (409 naming the routes otherwise); 204.
func (f *Function) deleteReceiver(r *fnapi.Request) error {
	team, err := pathTeam(r)
	if err != nil {
		return err
	}
	name := r.Params.Get("name")
	if v, ok, err := f.readRoute(r, team); err != nil {
		return err
	} else if ok {
		if tree, err := amroute.Compile(v.Config, nil); err == nil && slices.Contains(tree.Receivers(), name) {
			return httperr.Conflict("receiver %q is named by team %q's routes (version %d); change the routes first", name, team, v.Version)
		}
	}
	if !store.ValidKey(wire.ReceiverKey(team, name)) {
		return httperr.NotFound("receiver %q of team %q not found", name, team)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.Delete(ctx, wire.ReceiverKey(team, name)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return httperr.NotFound("receiver %q of team %q not found", name, team)
		}
		return httperr.Unavailable(err, "cannot delete receiver %q", name)
	}
	r.Ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// receiverNames returns the names of team's receivers.
func (f *Function) receiverNames(r *fnapi.Request, team string) (map[string]bool, error) {
	names := map[string]bool{}
	prefix := wire.ReceiverPrefix + team + "/"
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot list receivers")
		}
		names[strings.TrimPrefix(e.Key, prefix)] = true
	}
	return names, nil
}
