package deploy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
)

// TaskKeyKey is the store key of the task-signing key pair. Every
// instance of the function signs with it; the first one that needs it
// creates it with compare-and-set, the others read it. The private half
// never leaves the store and the function: it is not logged, not served,
// not published. Deleting the key rotates it: the next task creates a new
// one and agents fetch it when they see its id.
const TaskKeyKey = "deploy/task-key"

// storedTaskKey is the value at TaskKeyKey.
type storedTaskKey struct {
	KeyID   string    `json:"key_id"`
	Private []byte    `json:"private"` // ed25519 private key (seed and public half)
	Created time.Time `json:"created"`
}

// taskKey is the signing key this instance uses, and the store version it
// was read at.
type taskKey struct {
	priv    ed25519.PrivateKey
	id      string
	version uint64
}

// signingKey returns the task-signing key, creating it in the store the
// first time. It is cached; the cache is dropped when the stored key
// changes version (see refreshSigningKey).
func (f *Function) signingKey(ctx context.Context) (taskKey, error) {
	f.keyMu.Lock()
	defer f.keyMu.Unlock()
	if f.key.priv != nil {
		return f.key, nil
	}
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		k, err := f.loadTaskKey(ctx)
		if err == nil {
			f.key = k
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return fmt.Errorf("cannot create the task-signing key: %w", err)
		}
		id := wire.KeyID(priv.Public().(ed25519.PublicKey))
		b, err := json.Marshal(storedTaskKey{KeyID: id, Private: priv, Created: time.Now().UTC()})
		if err != nil {
			return fmt.Errorf("cannot encode the task-signing key: %w", err)
		}
		sctx, cancel := f.storeCtx(ctx)
		v, err := f.st.CompareAndSwap(sctx, TaskKeyKey, 0, b, store.PutOptions{})
		cancel()
		if err != nil {
			// A conflict: another instance created it first; read that one.
			return fmt.Errorf("cannot store the task-signing key: %w", err)
		}
		f.log.Info("created the task-signing key", "key_id", id)
		f.key = taskKey{priv: priv, id: id, version: v}
		return nil
	})
	if err != nil {
		return taskKey{}, err
	}
	return f.key, nil
}

// loadTaskKey reads the key pair from the store.
func (f *Function) loadTaskKey(ctx context.Context) (taskKey, error) {
	sctx, cancel := f.storeCtx(ctx)
	e, err := f.st.Get(sctx, TaskKeyKey)
	cancel()
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return taskKey{}, err
		}
		return taskKey{}, fmt.Errorf("cannot read the task-signing key: %w", err)
	}
	var s storedTaskKey
	if err := json.Unmarshal(e.Value, &s); err != nil || len(s.Private) != ed25519.PrivateKeySize {
		return taskKey{}, fmt.Errorf("cannot read the task-signing key: %s holds no Ed25519 key", TaskKeyKey)
	}
	priv := ed25519.PrivateKey(s.Private)
	return taskKey{priv: priv, id: wire.KeyID(priv.Public().(ed25519.PublicKey)), version: e.Version}, nil
}

// refreshSigningKey drops the cached key if the store holds another
// version (a rotation), so that the next task is signed with the new one.
func (f *Function) refreshSigningKey(ctx context.Context) {
	f.keyMu.Lock()
	cached := f.key.version
	f.keyMu.Unlock()
	k, err := f.loadTaskKey(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return // keep signing with what we have
	}
	if k.version != cached {
		f.keyMu.Lock()
		f.key = taskKey{}
		f.keyMu.Unlock()
	}
}

// signTask wraps a task for its host: a new nonce, issued now, expiring
// after wire.TaskTTL, signed.
func (f *Function) signTask(ctx context.Context, t wire.Task) ([]byte, error) {
	k, err := f.signingKey(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	s := wire.SignedTask{Task: t, Nonce: randomHex(16), IssuedAt: now, ExpiresAt: now.Add(wire.TaskTTL)}
	s.Sign(k.priv)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("cannot encode task: %w", err)
	}
	return b, nil
}

// taskKeys serves the public task-signing keys: GET
// /api/v1/agents/task-keys (agent scope). It creates the key pair if no
// task was signed yet, so an agent that starts first finds it.
func (f *Function) taskKeys(r *fnapi.Request) error {
	f.refreshSigningKey(r.Context())
	k, err := f.signingKey(r.Context())
	if err != nil {
		return unavailable(err, "cannot read the task-signing key: store unavailable")
	}
	pub := k.priv.Public().(ed25519.PublicKey)
	return r.JSON(fasthttp.StatusOK, wire.TaskKeys{Keys: []wire.TaskKey{{KeyID: k.id, PublicKey: pub}}})
}
