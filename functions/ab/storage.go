package ab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// casAttempts bounds the read-modify-write retries of one update.
const casAttempts = 5

// create stores v under key unless the key exists (409).
func (f *Function) create(r *fnapi.Request, key string, v any, what string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode %s: %w", what, err)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.CompareAndSwap(ctx, key, 0, b, store.PutOptions{}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return httperr.Conflict("%s already exists", what)
		}
		return httperr.Unavailable(err, "cannot store %s", what)
	}
	return nil
}

// load reads key into v; a missing key is 404 naming what.
func (f *Function) load(ctx context.Context, key string, v any, what string) (uint64, error) {
	e, err := f.opts.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return 0, httperr.NotFound("%s not found", what)
	}
	if err != nil {
		return 0, httperr.Unavailable(err, "cannot read %s", what)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return 0, fmt.Errorf("cannot decode %s: %w", what, err)
	}
	return e.Version, nil
}

// update applies edit to the value of key (a *T) and stores it with
// compare-and-swap, retrying on a concurrent change. edit's error is
// returned as is (nothing stored).
func update[T any](f *Function, r *fnapi.Request, key, what string, edit func(*T) error) (T, error) {
	var v T
	for range casAttempts {
		ctx, cancel := f.storeCtx(r)
		ver, err := f.load(ctx, key, &v, what)
		cancel()
		if err != nil {
			return v, err
		}
		if err := edit(&v); err != nil {
			return v, err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return v, fmt.Errorf("cannot encode %s: %w", what, err)
		}
		ctx, cancel = f.storeCtx(r)
		_, err = f.opts.Store.CompareAndSwap(ctx, key, ver, b, store.PutOptions{})
		cancel()
		if errors.Is(err, store.ErrConflict) {
			var zero T
			v = zero
			continue
		}
		if err != nil {
			return v, httperr.Unavailable(err, "cannot store %s", what)
		}
		return v, nil
	}
	return v, httperr.Conflict("%s changed concurrently %d times; try again", what, casAttempts)
}

// list reads every value under prefix whose team p sees.
func list[T any](f *Function, r *fnapi.Request, prefix string, team func(T) string) ([]T, error) {
	out := []T{}
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
		if err != nil {
			return nil, httperr.Unavailable(err, "cannot list %s", prefix)
		}
		var v T
		if err := json.Unmarshal(e.Value, &v); err != nil {
			f.log.Warn("undecodable value", "key", e.Key, "err", err)
			continue
		}
		if sees(r.Principal, team(v)) {
			out = append(out, v)
		}
	}
	return out, nil
}
