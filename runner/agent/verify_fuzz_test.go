package agent

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// FuzzSignedTask changes a signed task message anywhere: whatever still
// decodes and verifies must say exactly what was signed.
func FuzzSignedTask(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	orig := signed(wire.Task{DeployID: "d1", App: "shop", Host: "h1", TaskID: 2, Kind: wire.TaskDeploy, Version: "1.0.0", SHA256: goodSum})
	orig.Sign(priv)
	msg, err := json.Marshal(orig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(0, byte('x'))
	f.Add(bytes.Index(msg, []byte("1.0.0")), byte('2'))
	f.Add(bytes.Index(msg, []byte(`"h1"`))+2, byte('2'))
	f.Add(len(msg)-3, byte('A'))
	f.Fuzz(func(t *testing.T, at int, c byte) {
		b := bytes.Clone(msg)
		if at >= 0 && at < len(b) {
			b[at] = c
		}
		s, err := DecodeSignedTask(b)
		if err != nil {
			if !errors.Is(err, ErrBadTask) {
				t.Fatalf("error not ErrBadTask: %v", err)
			}
			return
		}
		if s.Verify(pub) && !bytes.Equal(s.SignedBytes(), orig.SignedBytes()) {
			t.Fatalf("a changed task verifies: %s", b)
		}
	})
}

// TestSignedTaskReadsAsATask: a signed task keeps the task's fields at
// the top level, so an agent of the previous release (DecodeTask, which
// ignores unknown fields) still runs it during a rolling upgrade.
func TestSignedTaskReadsAsATask(t *testing.T) {
	t.Parallel()
	_, priv, _ := ed25519.GenerateKey(nil)
	task := wire.Task{DeployID: "d1", App: "shop", Host: "h1", TaskID: 2, Kind: wire.TaskDeploy, Version: "1.0.0", SHA256: goodSum}
	s := signed(task)
	s.Sign(priv)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeTask(b); err != nil || got != task {
		t.Fatalf("DecodeTask(signed) = %+v, %v; want %+v", got, err, task)
	}
}
