package alarms

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// versionedDoc is one of a team's documents written with optimistic
// concurrency (the route tree, the inhibition rules, a receiver): its
// store key and how messages name it.
type versionedDoc struct {
	key string
	// noun names the document in internal errors ("routes").
	noun string
	// what names it in answers (`the routes of "shop"`), plural says
	// whether it takes "are"/"them" or "is"/"it".
	what   string
	plural bool
}

// teamDoc is a team's plural document noun ("routes", "inhibition rules").
func teamDoc(key, noun, team string) versionedDoc {
	return versionedDoc{key: key, noun: noun, what: fmt.Sprintf("the %s of %q", noun, team), plural: true}
}

// putArgs are what a versioned PUT says besides its body.
type putArgs struct {
	// want is the version the writer read (0: none yet); -1: no check
	// (the last write wins).
	want    int64
	comment string
}

// versionedPutArgs reads version= (or, when absent, an If-Match header
// holding the version, quoted or not) and comment= of a versioned PUT.
func versionedPutArgs(r *fnapi.Request) (putArgs, error) {
	q := r.Ctx.QueryArgs()
	a := putArgs{want: -1, comment: string(q.Peek("comment"))}
	v, from := string(q.Peek("version")), "version"
	if v == "" {
		if m := strings.TrimSpace(string(r.Ctx.Request.Header.Peek("If-Match"))); m != "" {
			v, from = strings.Trim(strings.TrimPrefix(m, "W/"), `"`), "If-Match"
		}
	}
	if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return a, httperr.BadRequest("%s must be the version read before (0: none yet), got %q", from, v)
		}
		a.want = n
	}
	if len(a.comment) > 1024 {
		return a, httperr.BadRequest("comment must be at most 1024 bytes")
	}
	return a, nil
}

// readDoc reads d into a T; the store version is 0 when none is stored.
func readDoc[T any](f *Function, r *fnapi.Request, d versionedDoc) (T, uint64, error) {
	var v T
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err := f.opts.Store.Get(ctx, d.key)
	if errors.Is(err, store.ErrNotFound) {
		return v, 0, nil
	}
	if err != nil {
		return v, 0, httperr.Unavailable(err, "cannot read %s", d.what)
	}
	if err := json.Unmarshal(e.Value, &v); err != nil {
		return v, 0, fmt.Errorf("cannot decode %s: %w", d.what, err)
	}
	return v, e.Version, nil
}

// checkVersion answers 409 when the writer read another version than the
// stored one (have).
func (d versionedDoc) checkVersion(a putArgs, have int64) error {
	if a.want < 0 || a.want == have {
		return nil
	}
	are, them := "is", "it"
	if d.plural {
		are, them = "are", "them"
	}
	return httperr.Conflict("%s %s at version %d, not %d; read %s again", d.what, are, have, a.want, them)
}

// writeDoc stores next as d if its store version is still expect (0: it
// must not exist): 409 when another write came first. It returns what it
// stored and the new store version.
func writeDoc(f *Function, r *fnapi.Request, d versionedDoc, expect uint64, next any) ([]byte, uint64, error) {
	b, err := json.Marshal(next)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot encode %s: %w", d.noun, err)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	ver, err := f.opts.Store.CompareAndSwap(ctx, d.key, expect, b, store.PutOptions{})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			them := "it"
			if d.plural {
				them = "them"
			}
			return nil, 0, httperr.Conflict("%s changed meanwhile; read %s again", d.what, them)
		}
		return nil, 0, httperr.Unavailable(err, "cannot store %s", d.what)
	}
	return b, ver, nil
}

// replaceDoc is a versioned PUT's write: it reads d, answers 409 unless
// the writer read the stored version (args; versionOf tells a T's), and
// stores next(cur) with a compare-and-swap. It returns what it stored.
func replaceDoc[T any](f *Function, r *fnapi.Request, d versionedDoc, args putArgs, versionOf func(T) int64, next func(cur T) T) (T, []byte, error) {
	cur, expect, err := readDoc[T](f, r, d)
	if err != nil {
		return cur, nil, err
	}
	if err := d.checkVersion(args, versionOf(cur)); err != nil {
		return cur, nil, err
	}
	v := next(cur)
	b, _, err := writeDoc(f, r, d, expect, v)
	return v, b, err
}
