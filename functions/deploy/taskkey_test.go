package deploy_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// TestTaskKeys: agents (and admin) get the public task-signing key, every
// other token is refused; the key pair is created once in the store, the
// private half is never served; deleting it from the store rotates it.
func TestTaskKeys(t *testing.T) {
	e := newEnv(t, envOptions{redis: true})
	// Several instances of the function on one store start signing at
	// once: compare-and-set leaves them one key.
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		fn := e.newFn(nil, nil)
		wg.Go(func() {
			id, err := fn.SigningKeyID(context.Background())
			if err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("instances sign with different keys: %v", ids)
		}
	}

	want(t, e.do("GET", wire.TaskKeysPath, "", nil), 401)
	for _, who := range []string{"shop", "other", "ingest"} {
		want(t, e.do("GET", wire.TaskKeysPath, e.tok[who], nil), 403)
	}

	// Agents get that key.
	got := make([]wire.TaskKeys, 8)
	for i := range got {
		wg.Go(func() {
			r := e.do("GET", wire.TaskKeysPath, e.tok["agent"], nil)
			if r.status != 200 {
				t.Errorf("GET %s as agent: %s", wire.TaskKeysPath, r)
				return
			}
			_ = json.Unmarshal(r.body, &got[i])
		})
	}
	wg.Wait()
	first := got[0]
	if len(first.Keys) != 1 || len(first.Keys[0].PublicKey) != ed25519.PublicKeySize || first.Keys[0].KeyID != ids[0] ||
		wire.KeyID(first.Keys[0].PublicKey) != first.Keys[0].KeyID {
		t.Fatalf("keys: %+v", first)
	}
	for _, k := range got {
		if len(k.Keys) != 1 || k.Keys[0].KeyID != first.Keys[0].KeyID {
			t.Fatalf("agents got different keys: %+v and %+v", first, k)
		}
	}
	r := e.do("GET", wire.TaskKeysPath, e.admin, nil)
	want(t, r, 200, first.Keys[0].KeyID)
	if strings.Contains(strings.ToLower(string(r.body)), "priv") {
		t.Fatalf("the answer names a private key: %s", r)
	}

	// The store holds the pair under TaskKeyKey; only the public half is served.
	en, err := e.st.Get(context.Background(), deploy.TaskKeyKey)
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		KeyID   string `json:"key_id"`
		Private []byte `json:"private"`
	}
	if err := json.Unmarshal(en.Value, &stored); err != nil || stored.KeyID != first.Keys[0].KeyID {
		t.Fatalf("stored key %s: %v", en.Value, err)
	}
	if strings.Contains(string(r.body), string(stored.Private)) {
		t.Fatal("the private key was served")
	}

	// Rotation: the operator deletes the key; the next ask creates another.
	if _, err := e.st.Delete(context.Background(), deploy.TaskKeyKey); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", wire.TaskKeysPath, e.tok["agent"], nil)
	want(t, r, 200)
	if k := decode[wire.TaskKeys](t, r); len(k.Keys) != 1 || k.Keys[0].KeyID == first.Keys[0].KeyID {
		t.Fatalf("after deleting the key: %s, want a new key", r)
	}
}
