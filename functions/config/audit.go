package config

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"time"
)

// AuditEntry is one change to an app's config: who, when, what.
type AuditEntry struct {
	At        time.Time `json:"at"`
	By        string    `json:"by"`
	Action    string    `json:"action"`
	Cluster   string    `json:"cluster,omitempty"`
	Namespace string    `json:"namespace,omitempty"`
	// Release is the release the change made or pointed clients at.
	Release int64  `json:"release,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// AuditList is the answer of GET .../audit, newest first.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
}

// audit records e for app; a failure is logged, the change stands.
func (f *Function) audit(ctx context.Context, app string, e AuditEntry) {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	key := fmt.Sprintf("%s%s/%020d-%s", auditPrefix, app, e.At.UnixNano(), hex.EncodeToString(rnd[:]))
	b, err := json.Marshal(e)
	if err == nil {
		cctx, cancel := f.storeCtx(ctx)
		_, err = f.st.Put(cctx, key, b, store.PutOptions{})
		cancel()
	}
	if err != nil {
		f.log.Warn("cannot record config audit entry", "app", app, "action", e.Action, "err", err)
	}
}

// maxAuditLimit bounds one page of the audit list.
const maxAuditLimit = 1000

// listAudit answers the app's audit entries, newest first (limit=, 100
// by default).
func (f *Function) listAudit(r *fnapi.Request) error {
	app, err := appParam(r)
	if err != nil {
		return err
	}
	if err := f.canRead(r, app); err != nil {
		return err
	}
	limit := 100
	if v := r.Ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > maxAuditLimit {
			return httperr.BadRequest("limit must be 1 to %d, got %q", maxAuditLimit, v)
		}
		limit = n
	}
	entries, err := listAll[AuditEntry](r.Context(), f, auditPrefix+app+"/")
	if err != nil {
		return err
	}
	out := AuditList{Entries: []AuditEntry{}}
	for i := len(entries) - 1; i >= 0 && len(out.Entries) < limit; i-- {
		out.Entries = append(out.Entries, entries[i])
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// listAll decodes every value under prefix, in key order.
func listAll[T any](ctx context.Context, f *Function, prefix string) ([]T, error) {
	raw, err := f.listRaw(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []T
	for _, b := range raw {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("cannot decode an entry under %s: %w", prefix, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// listRaw is the values under prefix (what a client read listed last
// when the store cannot be reached: lastKnown).
func (f *Function) listRaw(ctx context.Context, prefix string) ([][]byte, error) {
	var out [][]byte
	after := ""
	for {
		cctx, cancel := f.storeCtx(ctx)
		page, err := f.st.List(cctx, prefix, store.ListOptions{After: after})
		cancel()
		if err != nil {
			// An app's access keys are used at most StaleCredentials
			// after the store last listed them (the key watch keeps
			// them current; this bounds a watch that fell behind).
			if kr, ok := f.known.read(ctx, "list\x00"+prefix); ok &&
				(!strings.HasPrefix(prefix, keysPrefix) || f.opts.Now().Sub(kr.at) <= f.opts.StaleCredentials) {
				f.m.staleReads.Inc()
				return kr.values, nil
			}
			return nil, httperr.Unavailable(err, "cannot list config: store unavailable")
		}
		for _, e := range page.Entries {
			out = append(out, e.Value)
		}
		if page.Next == "" {
			// An empty list is not kept: listing the keys of random app
			// names must not push real entries out.
			if len(out) > 0 {
				f.known.putRead(ctx, "list\x00"+prefix, knownRead{found: true, values: out})
			} else {
				f.known.drop("list\x00" + prefix)
			}
			return out, nil
		}
		after = page.Next
	}
}
