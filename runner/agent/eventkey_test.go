package agent

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/testenv"
)

// heartbeatKey waits for a heartbeat and returns the key it announces.
func (h *harness) heartbeatKey(after int) ed25519.PublicKey {
	h.t.Helper()
	var pub ed25519.PublicKey
	testenv.Eventually(h.t, 10*time.Second, func() error {
		h.cp.mu.Lock()
		defer h.cp.mu.Unlock()
		if len(h.cp.hosts) <= after {
			return fmt.Errorf("no heartbeat yet")
		}
		pub = h.cp.hosts[len(h.cp.hosts)-1].PublicKey
		return nil
	})
	return pub
}

// TestEventsSignedWithTheAgentsKey: the agent makes a key pair at its
// first start (a private file in its data dir, never logged), announces
// the public key in its heartbeat, signs every event it publishes with
// it, and keeps it across restarts.
func TestEventsSignedWithTheAgentsKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	sha := h.cp.add("1.0.0", makeBundle(t, bundleSpec{version: "1.0.0"}))
	a := h.start(h.options())
	pub := h.heartbeatKey(0)
	if len(pub) != ed25519.PublicKeySize {
		t.Fatalf("heartbeat announces a key of %d bytes", len(pub))
	}
	h.publish(h.task("d1", 1, wire.TaskDeploy, "1.0.0", sha))
	if ev := h.waitFinal("d1", 1, 30*time.Second); ev.State != wire.PhaseHealthy {
		t.Fatalf("deploy: %s: %s", ev.State, ev.Msg)
	}
	h.mu.Lock()
	bodies := h.bodies
	h.mu.Unlock()
	for _, b := range bodies {
		s, err := wire.ParseSignedEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		if s.KeyID != wire.KeyID(pub) || !s.Verify(pub) || s.Host != h.host {
			t.Fatalf("event not signed by the announced key: %s", b)
		}
	}

	path := filepath.Join(h.dir, EventKeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	priv, err := parseEventKey(raw)
	if err != nil || !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatalf("key file does not hold the announced key: %v", err)
	}
	for _, secret := range []string{base64.StdEncoding.EncodeToString(priv.Seed()), fmt.Sprintf("%x", priv.Seed()), strings.TrimSpace(string(raw))} {
		if strings.Contains(h.logs.String(), secret) {
			t.Fatal("the private key is in the agent's log")
		}
	}

	// A restart keeps the key; a key file others can read is made private.
	a.stop()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	h.cp.mu.Lock()
	n := len(h.cp.hosts)
	h.cp.mu.Unlock()
	h.start(h.options())
	if again := h.heartbeatKey(n); !bytes.Equal(again, pub) {
		t.Fatalf("the key changed across a restart: %x, was %x", again, pub)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file stays %v", fi.Mode().Perm())
	}
}

// TestCorruptEventKeyIsAnError: a key file that does not hold a key
// stops the agent at New, rather than it silently making another key
// (which its host's binding would refuse).
func TestCorruptEventKeyIsAnError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if err := os.WriteFile(filepath.Join(h.dir, EventKeyFileName), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(h.options()); err == nil || !strings.Contains(err.Error(), EventKeyFileName) {
		t.Fatalf("New: %v", err)
	}
}

// A key path that exists but cannot be read (a dangling link, e.g. to a
// secrets mount not mounted yet) is an error naming it, not a loop that
// writes key files until the disk is full.
func TestDanglingEventKeyLinkIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "not-mounted", "event.key"), filepath.Join(dir, EventKeyFileName)); err != nil {
		t.Fatal(err)
	}
	_, err := loadEventKey(dir, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), EventKeyFileName) {
		t.Fatalf("want an error naming the key file, got %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, EventKeyFileName+".*"))
	if len(left) != 0 {
		t.Fatalf("temporary key files left behind: %v", left)
	}
}
