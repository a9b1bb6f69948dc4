package store

import (
	"context"
	"errors"
)

// Swap is one compare-and-swap of a batch: write Value to Key only if
// the key's version is Expect (0: must not exist).
type Swap struct {
	Key    string
	Expect uint64
	Value  []byte
	Opts   PutOptions
	// Ref is the SwapResult.Ref of an earlier swap of Key on the same
	// store (nil: none): an engine that hands out refs finds the key
	// through it without a lookup. A ref the engine did not make, one of
	// another key or store, or one of a key deleted since is ignored; a
	// swap means the same with or without it.
	Ref any
}

// SwapResult is the outcome of one Swap: the new version, or Err
// (ErrConflict when the version differed; each swap stands alone).
type SwapResult struct {
	Version uint64
	Err     error
	// Ref is the engine's handle of the key written, for the next Swap of
	// it (nil: the engine has none; logstore has).
	Ref any
}

// Batcher is implemented by engines that read and compare-and-swap many
// keys at once (buntdb: one transaction; Redis: one pipeline). Each key
// keeps the semantics of Get and CompareAndSwap: a batch is not a
// transaction over its keys — one swap's conflict does not undo another.
type Batcher interface {
	// GetMany returns the entries of keys in order; a missing key is an
	// Entry with its Key and Version 0.
	GetMany(ctx context.Context, keys []string) ([]Entry, error)
	// CompareAndSwapMany applies every swap and returns their results in
	// order. The error is for the batch as a whole (the engine is
	// unreachable, ctx ended): then some swaps may have been applied.
	CompareAndSwapMany(ctx context.Context, swaps []Swap) ([]SwapResult, error)
}

// GetMany reads keys with st's GetMany when it is a Batcher, else one Get
// each; a missing key is an Entry with its Key and Version 0.
func GetMany(ctx context.Context, st Store, keys []string) ([]Entry, error) {
	if b, ok := st.(Batcher); ok {
		return b.GetMany(ctx, keys)
	}
	out := make([]Entry, len(keys))
	for i, k := range keys {
		e, err := st.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			e, err = Entry{Key: k}, nil
		}
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// CompareAndSwapMany applies swaps with st's CompareAndSwapMany when it is
// a Batcher, else one CompareAndSwap each.
func CompareAndSwapMany(ctx context.Context, st Store, swaps []Swap) ([]SwapResult, error) {
	if b, ok := st.(Batcher); ok {
		return b.CompareAndSwapMany(ctx, swaps)
	}
	out := make([]SwapResult, len(swaps))
	for i, s := range swaps {
		v, err := st.CompareAndSwap(ctx, s.Key, s.Expect, s.Value, s.Opts)
		if err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrInvalidKey) {
			return out[:i], err
		}
		out[i] = SwapResult{Version: v, Err: err}
	}
	return out, nil
}
