package ab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// Range claims keep a layer's experiments mutually exclusive under
// concurrent writes. Checking the other experiments and then writing is
// not atomic: two creates (or starts) of overlapping ranges in one layer,
// each checking before the other wrote, would both succeed. So a write
// that takes a range first claims it in the layer's claim record with one
// compare-and-swap — after checking the stored experiments and the
// claims of writes in progress — and drops the claim once written. Of two
// overlapping writes one claim wins; the other sees it (or, if later, the
// written experiment) and fails. A claim left by a write that died expires
// after claimTTL.

// claimPrefix + <team>/<layer> holds the layer's claims (not under
// defPrefix: the snapshot does not mirror it).
const claimPrefix = "ab/claims/"

// claimTTL bounds how long a claim of a write that never finished blocks
// its range.
const claimTTL = 30 * time.Second

func claimKey(team, layer string) string { return claimPrefix + team + "/" + layer }

// rangeClaim is one write in progress.
type rangeClaim struct {
	Key   string    `json:"key"`
	Range [2]int    `json:"range"`
	At    time.Time `json:"at"`
}

// claimRange checks that no experiment of e's layer and no claim of a
// write in progress overlaps e's range, and claims it; it returns the
// release to call once e is written (or not), or the key of an experiment
// whose range overlaps (and no claim).
func (f *Function) claimRange(r *fnapi.Request, e experiment.Experiment) (release func(), overlap string, err error) {
	if e.Layer == "" {
		return func() {}, "", nil
	}
	key := claimKey(e.Team, e.Layer)
	for range casAttempts {
		ctx, cancel := f.storeCtx(r)
		claims, ver, err := f.readClaims(ctx, key)
		cancel()
		if err != nil {
			return nil, "", err
		}
		others, err := list(f, r, experimentPrefix+e.Team+"/", func(x experiment.Experiment) string { return x.Team })
		if err != nil {
			return nil, "", httperr.Unavailable(err, "cannot check the other experiments of layer %q", e.Layer)
		}
		for _, c := range claims {
			others = append(others, experiment.Experiment{Key: c.Key, Team: e.Team, Layer: e.Layer, Range: c.Range, Status: experiment.Running})
		}
		if k := experiment.Overlaps(e, others); k != "" {
			return nil, k, nil
		}
		claims = append(claims, rangeClaim{Key: e.Key, Range: e.Range, At: f.opts.Now().UTC()})
		ctx, cancel = f.storeCtx(r)
		err = f.writeClaims(ctx, key, ver, claims)
		cancel()
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			continue // another write claimed meanwhile: check again
		}
		if err != nil {
			return nil, "", err
		}
		return func() { f.releaseClaim(key, e.Key) }, "", nil
	}
	return nil, "", httperr.Conflict("layer %q is being changed by other writes; try again", e.Layer)
}

// readClaims reads the live claims of a layer (expired ones dropped) and
// the record's version (0: none).
func (f *Function) readClaims(ctx context.Context, key string) ([]rangeClaim, uint64, error) {
	en, err := f.opts.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, httperr.Unavailable(err, "cannot read the layer's claims")
	}
	var claims []rangeClaim
	if err := json.Unmarshal(en.Value, &claims); err != nil {
		return nil, en.Version, nil // unreadable: as if none (they only ever block)
	}
	now := f.opts.Now()
	claims = slices.DeleteFunc(claims, func(c rangeClaim) bool { return now.Sub(c.At) > claimTTL })
	return claims, en.Version, nil
}

// writeClaims stores claims at key with a compare-and-swap on ver.
func (f *Function) writeClaims(ctx context.Context, key string, ver uint64, claims []rangeClaim) error {
	b, err := json.Marshal(claims)
	if err != nil {
		return fmt.Errorf("cannot encode claims: %w", err)
	}
	if _, err := f.opts.Store.CompareAndSwap(ctx, key, ver, b, store.PutOptions{}); err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			return err
		}
		return httperr.Unavailable(err, "cannot claim the range")
	}
	return nil
}

// releaseClaim drops the claim of experiment exp (best effort: a claim
// not dropped expires).
func (f *Function) releaseClaim(key, exp string) {
	for range casAttempts {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		claims, ver, err := f.readClaims(ctx, key)
		if err == nil && ver != 0 {
			claims = slices.DeleteFunc(claims, func(c rangeClaim) bool { return c.Key == exp })
			err = f.writeClaims(ctx, key, ver, claims)
		}
		cancel()
		if !errors.Is(err, store.ErrConflict) {
			return
		}
	}
}
