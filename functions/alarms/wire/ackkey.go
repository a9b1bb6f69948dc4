package wire

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
)

// AckKeyKey holds the key that signs acknowledgement links
// (monitoring/acklink): 32 random bytes, created by the first node that
// needs it and shared by all. Never answered, logged or published.
const AckKeyKey = Prefix + "ackkey"

// LoadAckKey reads the acknowledgement link key, creating it when there is
// none yet (compare-and-swap on version 0: every node ends up with the
// same key).
func LoadAckKey(ctx context.Context, st store.Store) ([]byte, error) {
	for range 3 {
		e, err := st.Get(ctx, AckKeyKey)
		if err == nil && len(e.Value) >= 32 {
			return e.Value, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("cannot read the acknowledgement link key: %w", err)
		}
		var expect uint64
		if err == nil { // too short to be ours: replaced
			expect = e.Version
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("cannot create the acknowledgement link key: %w", err)
		}
		if _, err := st.CompareAndSwap(ctx, AckKeyKey, expect, k, store.PutOptions{}); err == nil {
			return k, nil
		} else if !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("cannot store the acknowledgement link key: %w", err)
		}
	}
	return nil, errors.New("cannot load the acknowledgement link key: it keeps changing")
}

// AckPath is an acknowledgement link after the public URL, before its
// token: GET shows what it acknowledges, POST acknowledges. The token is
// in the query, not the path: the gateway's access log records paths.
const AckPath = "/api/v1/ack?token="
