package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Store keys. Names never hold '/', so a key splits back into its parts.
const (
	prefix      = "config/"
	headPrefix  = prefix + "head/"
	draftPrefix = prefix + "draft/"
	grayPrefix  = prefix + "graydraft/"
	relPrefix   = prefix + "rel/"
	auditPrefix = prefix + "audit/"
	keysPrefix  = prefix + "keys/"
	// publicPrefix indexes public namespaces by name: the app that owns it.
	publicPrefix = prefix + "public/"
)

// nsID names one namespace of one cluster of an app.
type nsID struct{ App, Cluster, NS string }

func (n nsID) path() string      { return n.App + "/" + n.Cluster + "/" + n.NS }
func (n nsID) headKey() string   { return headPrefix + n.path() }
func (n nsID) draftKey() string  { return draftPrefix + n.path() }
func (n nsID) grayKey() string   { return grayPrefix + n.path() }
func (n nsID) relPrefix() string { return relPrefix + n.path() + "/" }
func (n nsID) watchKey() string  { return model.WatchKey(n.App, n.Cluster, n.NS) }
func (n nsID) relKey(id int64) string {
	return fmt.Sprintf("%s%012d", n.relPrefix(), id)
}

// parseHeadKey is the namespace of a head key.
func parseHeadKey(k string) (nsID, bool) {
	p := strings.Split(strings.TrimPrefix(k, headPrefix), "/")
	if len(p) != 3 || !strings.HasPrefix(k, headPrefix) {
		return nsID{}, false
	}
	return nsID{p[0], p[1], p[2]}, true
}

// Head is a namespace: its format and kind, and what clients read — the
// main release and the gray branch. Its store version is the namespace's
// Apollo notification id: every change clients must see writes it.
type Head struct {
	App       string       `json:"app"`
	Cluster   string       `json:"cluster"`
	Namespace string       `json:"namespace"`
	Format    model.Format `json:"format"`
	// Public namespaces are readable by every app under their name.
	Public bool `json:"public,omitempty"`
	// Override names the app whose public namespace this one overrides
	// (Apollo's associated namespace): its keys win.
	Override string `json:"override,omitempty"`
	// Main is the release clients read (0: nothing released), MainKey its key.
	Main    int64  `json:"main,omitempty"`
	MainKey string `json:"main_release_key,omitempty"`
	// Seq is the last release id given.
	Seq       int64     `json:"seq,omitempty"`
	Gray      *GrayHead `json:"gray,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
}

// GrayHead is a namespace's gray branch as clients see it: its rules and
// its published release (0: none yet, gray clients read the main one).
type GrayHead struct {
	Rules      model.Rules `json:"rules"`
	Release    int64       `json:"release,omitempty"`
	ReleaseKey string      `json:"release_key,omitempty"`
	CreatedBy  string      `json:"created_by"`
	CreatedAt  time.Time   `json:"created_at"`
}

// Draft is the next configuration of a namespace, edited before publish.
type Draft struct {
	Items      map[string]string `json:"items"`
	ModifiedBy string            `json:"modified_by,omitempty"`
	ModifiedAt time.Time         `json:"modified_at,omitzero"`
}

// GrayDraft is the gray branch's edits to the main release.
type GrayDraft struct {
	model.Edits
	ModifiedBy string    `json:"modified_by,omitempty"`
	ModifiedAt time.Time `json:"modified_at,omitzero"`
}

// getJSON reads key into v; ok false when it does not exist.
func (f *Function) getJSON(ctx context.Context, key string, v any) (version uint64, ok bool, err error) {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	e, err := f.st.Get(cctx, key)
	if errors.Is(err, store.ErrNotFound) {
		if staleAllowed(ctx) && f.hub.knownName(key) {
			f.known.putRead(ctx, key, knownRead{})
		}
		return 0, false, nil
	}
	if err != nil {
		kr, ok := f.known.read(ctx, key)
		if !ok {
			return 0, false, httperr.Unavailable(err, "cannot read config: store unavailable")
		}
		f.m.staleReads.Inc()
		if !kr.found {
			return 0, false, nil
		}
		e = store.Entry{Key: key, Value: kr.values[0], Version: kr.version}
	} else if !strings.HasPrefix(key, relPrefix) {
		// Releases (up to 1 MiB each) are not kept twice: the release
		// cache holds those the heads point at.
		f.known.putValue(ctx, key, e.Version, e.Value)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return 0, false, fmt.Errorf("cannot decode %s: %w", key, err)
	}
	return e.Version, true, nil
}

// casJSON writes v at key if its version is still expect (0: absent);
// conflict reports a lost race.
func (f *Function) casJSON(ctx context.Context, key string, expect uint64, v any) (version uint64, conflict bool, err error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, false, fmt.Errorf("cannot encode %s: %w", key, err)
	}
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	ver, err := f.st.CompareAndSwap(cctx, key, expect, b, store.PutOptions{})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, httperr.Unavailable(err, "cannot write config: store unavailable; nothing was changed")
	}
	return ver, false, nil
}

// del removes key (absent is fine).
func (f *Function) del(ctx context.Context, key string) error {
	cctx, cancel := f.storeCtx(ctx)
	defer cancel()
	if _, err := f.st.Delete(cctx, key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return httperr.Unavailable(err, "cannot write config: store unavailable")
	}
	return nil
}

// casRetries bounds the attempts of a read-modify-write that races others.
const casRetries = 8

// busy is the answer when casRetries were not enough.
func busy(what string) error {
	return httperr.Conflict("cannot %s: the namespace kept changing under concurrent writes; try again", what)
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }
