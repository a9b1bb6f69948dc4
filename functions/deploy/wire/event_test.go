package wire_test

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// TestSignedEventRoundTrip: what an agent signs verifies after the trip
// through JSON (invalid UTF-8 in the log tail included), the event's
// fields stay at the top level, and changing any field breaks it.
func TestSignedEventRoundTrip(t *testing.T) {
	t.Parallel()
	pub, priv, _ := ed25519.GenerateKey(nil)
	ev := wire.Event{DeployID: "shop-1", TaskID: 2, Host: "h1", State: wire.PhaseFailed,
		At: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600)), Msg: "boom",
		Duration: wire.Duration(1500 * time.Millisecond), LogTail: "bad \xff byte"}
	body, err := wire.SignEvent(ev, priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := wire.ParseSignedEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verify(pub) || s.KeyID != wire.KeyID(pub) || s.State != wire.PhaseFailed || s.Host != "h1" {
		t.Fatalf("round trip: %+v", s)
	}
	// An old deploy function reads it as a plain event.
	if old, err := wire.ParseEvent(body); err != nil || old.DeployID != "shop-1" {
		t.Fatalf("plain parse: %+v %v", old, err)
	}
	for field, v := range map[string]any{
		"deploy_id": "shop-2", "task_id": 3, "host": "h2", "state": "healthy", "at": "2026-03-01T12:00:00Z",
		"msg": "ok", "duration": "1s", "log_tail": "other", "key_id": "0011223344556677",
	} {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		m[field] = v
		b, _ := json.Marshal(m)
		s, err := wire.ParseSignedEvent(b)
		if err != nil {
			t.Fatalf("%s: %v", field, err)
		}
		if s.Verify(pub) {
			t.Fatalf("changing %s kept the signature valid", field)
		}
	}
	for _, bad := range []string{`{"deploy_id":"d","task_id":1,"host":"h","state":"healthy","sig":"!!"}`,
		`{"deploy_id":"d","task_id":1,"host":"h","state":"healthy","key_id":7}`} {
		if _, err := wire.ParseSignedEvent([]byte(bad)); err == nil {
			t.Fatalf("%s: parsed", bad)
		}
	}
}

// FuzzParseSignedEvent: arbitrary messages on deploy.events never panic
// the parser, and one that parses keeps a key id short enough to log.
func FuzzParseSignedEvent(f *testing.F) {
	_, priv, _ := ed25519.GenerateKey(nil)
	body, _ := wire.SignEvent(wire.Event{DeployID: "shop-1", TaskID: 1, Host: "h1", State: wire.PhaseHealthy}, priv)
	f.Add(body)
	f.Add([]byte(`{"deploy_id":"d","task_id":1,"host":"h","state":"failed"}`))
	f.Add([]byte(`{"deploy_id":"d","task_id":1,"host":"h","state":"failed","sig":"AAAA","key_id":"x","key_id":"y"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := wire.ParseSignedEvent(b)
		if err != nil {
			return
		}
		if len(s.KeyID) > 64 {
			t.Fatalf("key id of %d bytes accepted", len(s.KeyID))
		}
		_ = s.Verify(priv.Public().(ed25519.PublicKey))
	})
}
