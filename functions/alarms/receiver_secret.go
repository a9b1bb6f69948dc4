package alarms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// secretWrite is the secret of a receiver PUT: its key, the value and the
// store version of the key read before the receiver was (0: none).
type secretWrite struct {
	key    string
	value  []byte
	before uint64
}

// readSecret reads the version of team's secret ref before a PUT that
// sets it reads the receiver.
func (f *Function) readSecret(r *fnapi.Request, team, ref, secret string) (secretWrite, error) {
	w := secretWrite{key: wire.SecretKey(team, ref), value: []byte(secret)}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	e, err := f.opts.Store.Get(ctx, w.key)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return w, httperr.Unavailable(err, "cannot read the receiver's secret")
	default:
		w.before = e.Version
	}
	return w, nil
}

// maxSecretRounds bounds the compare-and-swap rounds of one secret.
const maxSecretRounds = 16

// storeSecret writes the secret of a receiver PUT whose compare-and-swap
// won (the receiver doc is at store version ver), so that a PUT that lost
// never stores its secret and of two that won the later one's stays: the
// secret is written with a compare-and-swap on the version read before
// the receiver was. When that finds another secret (a PUT that won
// before this one wrote after it), the secret's version is read again
// and, when the receiver is still this PUT's, the write retried; when the
// receiver was replaced meanwhile, the later PUT decides the secret.
func (f *Function) storeSecret(r *fnapi.Request, doc versionedDoc, ver uint64, w secretWrite) error {
	expect := w.before
	for range maxSecretRounds {
		err := f.withStore(r, func(ctx context.Context) error {
			_, err := f.opts.Store.CompareAndSwap(ctx, w.key, expect, w.value, store.PutOptions{})
			return err
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			// The outcome is unknown (a timeout): it took when the secret
			// stored is this PUT's.
			if f.secretIs(r, w) {
				return nil
			}
			return httperr.Unavailable(err, "cannot store the receiver's secret")
		}
		// The secret's version first, then the receiver: a PUT that wins
		// after this check writes its secret after that version, and this
		// compare-and-swap then fails.
		var s, e store.Entry
		err = f.withStore(r, func(ctx context.Context) error {
			var err error
			s, err = f.opts.Store.Get(ctx, w.key)
			return err
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			expect = 0
		case err != nil:
			return httperr.Unavailable(err, "cannot store the receiver's secret")
		default:
			expect = s.Version
		}
		err = f.withStore(r, func(ctx context.Context) error {
			var err error
			e, err = f.opts.Store.Get(ctx, doc.key)
			return err
		})
		if errors.Is(err, store.ErrNotFound) || (err == nil && e.Version != ver) {
			return nil // replaced or deleted since: not this PUT's to decide
		}
		if err != nil {
			return httperr.Unavailable(err, "cannot store the receiver's secret")
		}
	}
	return httperr.Unavailable(store.ErrConflict, "cannot store the receiver's secret")
}

// withStore runs one store call with a timeout of its own.
func (f *Function) withStore(r *fnapi.Request, call func(ctx context.Context) error) error {
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	return call(ctx)
}

// secretIs reports whether the secret stored at w.key is w's value (read
// with a timeout of its own).
func (f *Function) secretIs(r *fnapi.Request, w secretWrite) bool {
	var e store.Entry
	err := f.withStore(r, func(ctx context.Context) error {
		var err error
		e, err = f.opts.Store.Get(ctx, w.key)
		return err
	})
	return err == nil && bytes.Equal(e.Value, w.value)
}

// undoReceiver puts back the receiver a PUT replaced (prev, at store
// version expect before; 0: there was none) when its secret could not be
// stored, unless another write came since: the PUT then changed nothing.
func (f *Function) undoReceiver(r *fnapi.Request, doc versionedDoc, ver, expect uint64, prev VersionedReceiver) {
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if expect == 0 {
		_, _ = f.opts.Store.CompareAndDelete(ctx, doc.key, ver)
		return
	}
	if b, err := json.Marshal(prev); err == nil {
		_, _ = f.opts.Store.CompareAndSwap(ctx, doc.key, ver, b, store.PutOptions{})
	}
}
