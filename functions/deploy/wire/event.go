package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/strictjson"
)

// Signed events. Every agent has an Ed25519 key pair of its own (made at
// its first start, kept in its data dir) and announces the public key in
// its heartbeat (Host.PublicKey); the host's binding records it when the
// host is bound, and it cannot change until an admin releases the host.
// The agent signs every event it publishes; the deploy function applies
// an event only when it is signed by the key bound to the event's host.
// Events need no nonce or expiry: applying an event is idempotent (a
// phase only moves forward within a task, and an older task's events are
// ignored), so a replayed real event changes nothing.
const eventSignContext = "wharf deploy event v1"

// SignedEvent is an event as published on TopicEvents. The event's fields
// are at the top level of its JSON, as they were before events were
// signed, so that a deploy function of the previous release still reads
// it during a rolling upgrade (it ignores the fields it does not know).
type SignedEvent struct {
	plan.Event
	// KeyID names the agent's key (KeyID of its public key).
	KeyID string `json:"key_id,omitempty"`
	// Sig is the Ed25519 signature of SignedBytes (base64 in JSON).
	Sig []byte `json:"sig,omitempty"`
}

// Signed reports whether the event carries a key id or a signature.
func (s *SignedEvent) Signed() bool { return s.KeyID != "" || len(s.Sig) > 0 }

// SignedBytes are the bytes the signature covers: a context string, then
// every field of the event (deploy id, task id, host, state, time in Unix
// nanoseconds or "" when unset, message, duration in nanoseconds, log
// tail) and the key id, each length-prefixed, so that no two different
// events have the same bytes.
func (s *SignedEvent) SignedBytes() []byte {
	e := s.Event
	at := ""
	if !e.At.IsZero() {
		at = strconv.FormatInt(e.At.UnixNano(), 10)
	}
	fields := []string{
		eventSignContext, e.DeployID, strconv.Itoa(e.TaskID), e.Host, string(e.State), at, e.Msg,
		strconv.FormatInt(int64(e.Duration), 10), e.LogTail, s.KeyID,
	}
	return framed(fields)
}

// Verify reports whether Sig is pub's signature of s.
func (s *SignedEvent) Verify(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(s.Sig) == ed25519.SignatureSize &&
		ed25519.Verify(pub, s.SignedBytes(), s.Sig)
}

// SignEvent returns the message body of ev signed with priv. The event
// is first passed through its own JSON encoding, so that what is signed
// is exactly what the receiver decodes (invalid UTF-8 in a message or a
// log tail becomes U+FFFD, times keep their nanoseconds).
func SignEvent(ev plan.Event, priv ed25519.PrivateKey) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("cannot encode event: %w", err)
	}
	var s SignedEvent
	if err := json.Unmarshal(b, &s.Event); err != nil {
		return nil, fmt.Errorf("cannot decode event: %w", err)
	}
	s.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	s.Sig = ed25519.Sign(priv, s.SignedBytes())
	out, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("cannot encode signed event: %w", err)
	}
	return out, nil
}

// ParseSignedEvent decodes a message of TopicEvents: the event, checked
// by plan.ParseEvent, and its key id and signature when it has them (an
// agent of the previous release sends none).
func ParseSignedEvent(b []byte) (SignedEvent, error) {
	ev, err := plan.ParseEvent(b)
	if err != nil {
		return SignedEvent{}, err
	}
	var sig struct {
		KeyID string `json:"key_id"`
		Sig   []byte `json:"sig"`
	}
	if err := strictjson.DecodeLenient(b, &sig); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return SignedEvent{}, fmt.Errorf("cannot parse deploy event: %s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return SignedEvent{}, fmt.Errorf("cannot parse deploy event: %w", err)
	}
	if len(sig.KeyID) > 64 {
		return SignedEvent{}, errors.New("cannot parse deploy event: key_id: at most 64 bytes")
	}
	return SignedEvent{Event: ev, KeyID: sig.KeyID, Sig: sig.Sig}, nil
}
