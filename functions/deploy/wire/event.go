package wire

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/strictjson"
)

// Bounds of an event.
const (
	// MaxLogLines and MaxLogBytes bound an event's log tail (its end is
	// kept).
	MaxLogLines = 20
	MaxLogBytes = 4 << 10
	// MaxMsg bounds an event's message, in bytes.
	MaxMsg = 1024
)

// Event is what an agent reports about a task, on NSQ TopicEvents (as a
// SignedEvent).
type Event struct {
	DeployID string `json:"deploy_id"`
	TaskID   int    `json:"task_id"`
	Host     string `json:"host"`
	// State is downloading, starting, healthy or failed (rolled_back for
	// a rollback task).
	State Phase `json:"state"`
	// At is the agent's clock; the deploy keeps it for the history but
	// times out tasks on its own clock.
	At  time.Time `json:"at,omitzero"`
	Msg string    `json:"msg,omitempty"`
	// Duration is how long the phase took, as the agent measured it.
	Duration Duration `json:"duration,omitempty"`
	// LogTail is the end of the agent's log for the phase; longer than
	// MaxLogLines lines or MaxLogBytes bytes, only its end is kept.
	LogTail string `json:"log_tail,omitempty"`
}

// FieldError names the field of a message that is wrong.
type FieldError struct{ Field, Msg string }

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParseEvent decodes an agent's event. Unknown fields are ignored so that
// a newer agent can add some; duplicate keys and trailing data are
// rejected. It checks the event's shape only (the errors join one
// *FieldError per problem); the deploy decides whether it fits.
func ParseEvent(b []byte) (Event, error) {
	var e Event
	if err := strictjson.DecodeLenient(b, &e); err != nil {
		var te *json.UnmarshalTypeError
		var de *strictjson.DuplicateKeyError
		switch {
		case errors.As(err, &te) && te.Field != "":
			err = &FieldError{Field: te.Field, Msg: "want " + wantJSON(te.Type) + ", got " + te.Value}
		case errors.As(err, &de):
			err = &FieldError{Field: de.Path, Msg: "duplicate key; give each key once"}
		}
		return Event{}, fmt.Errorf("cannot parse deploy event: %w", err)
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if e.DeployID == "" || len(e.DeployID) > 128 {
		bad("deploy_id", "must be 1-128 bytes")
	}
	if e.TaskID < 1 {
		bad("task_id", "must be positive, got %d", e.TaskID)
	}
	if !ValidHostID(e.Host) {
		bad("host", "host ids are 1-128 of A-Z, a-z, 0-9, '.', '_', '-', ':', got %q", e.Host)
	}
	if e.State.Rank() < 0 {
		bad("state", "must be pending, downloading, starting, healthy, rolled_back or failed, got %q", e.State)
	}
	if e.Duration < 0 {
		bad("duration", "must not be negative")
	}
	if err := errors.Join(errs...); err != nil {
		return Event{}, fmt.Errorf("cannot parse deploy event: %w", err)
	}
	return e, nil
}

// wantJSON says what a field of type t takes.
func wantJSON(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration like "30s"`
	case reflect.TypeFor[time.Time]():
		return "an RFC 3339 time"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// ValidHostID is the registry's rule for host and instance ids: 1-128 of
// A-Z, a-z, 0-9, '.', '_', '-', ':'.
func ValidHostID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-:", c) >= 0) {
			return false
		}
	}
	return true
}

// Clip cuts s to at most n bytes, at a rune boundary (event messages are
// cut at MaxMsg).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// LogTail keeps the end of a log: at most MaxLogLines lines and
// MaxLogBytes bytes, cut at a rune boundary.
func LogTail(s string) string {
	s = strings.TrimRight(s, "\n")
	if len(s) > MaxLogBytes {
		cut := len(s) - MaxLogBytes
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		s = s[cut:]
	}
	for i, n := len(s)-1, 0; i >= 0; i-- {
		if s[i] == '\n' {
			if n++; n == MaxLogLines {
				return s[i+1:]
			}
		}
	}
	return s
}

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
	Event
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
func SignEvent(ev Event, priv ed25519.PrivateKey) ([]byte, error) {
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
// by ParseEvent, and its key id and signature when it has them (an
// agent of the previous release sends none).
func ParseSignedEvent(b []byte) (SignedEvent, error) {
	ev, err := ParseEvent(b)
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
