package ab_test

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/wharfhq/wharf/internal/store"
)

// hookStore is a real store with two test hooks: a pause after one Get
// of a key (to interleave a handler's read with other writes) and Puts
// that fail under a prefix (a store outage for some keys).
type hookStore struct {
	store.Store
	mu sync.Mutex
	// pauseKey, when set, pauses the next Get of it: reached is closed
	// once it returned, and the Get returns when release is closed.
	pauseKey         string
	reached, release chan struct{}
	failPrefix       string
}

func (h *hookStore) Get(ctx context.Context, key string) (store.Entry, error) {
	e, err := h.Store.Get(ctx, key)
	h.mu.Lock()
	pause := h.pauseKey != "" && key == h.pauseKey
	var reached, release chan struct{}
	if pause {
		h.pauseKey, reached, release = "", h.reached, h.release
	}
	h.mu.Unlock()
	if pause {
		close(reached)
		<-release
	}
	return e, err
}

func (h *hookStore) Put(ctx context.Context, key string, value []byte, opts store.PutOptions) (uint64, error) {
	h.mu.Lock()
	fail := h.failPrefix != "" && strings.HasPrefix(key, h.failPrefix)
	h.mu.Unlock()
	if fail {
		return 0, errors.New("store down for the test")
	}
	return h.Store.Put(ctx, key, value, opts)
}

// pauseNextGet arms the pause of the next Get of key.
func (h *hookStore) pauseNextGet(key string) (reached, release chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pauseKey, h.reached, h.release = key, make(chan struct{}), make(chan struct{})
	return h.reached, h.release
}

// failPuts makes Puts under prefix fail ("" : none).
func (h *hookStore) failPuts(prefix string) {
	h.mu.Lock()
	h.failPrefix = prefix
	h.mu.Unlock()
}
