package wire

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Signed tasks. Every message on a host topic is a SignedTask: the task,
// a random nonce, when it was issued and until when it may be run, and
// the deploy function's Ed25519 signature over SignedBytes. The key pair
// lives in the store (the deploy function creates it once); agents fetch
// the public keys from TaskKeysPath with their agent token and refuse any
// task that is unsigned, signed by an unknown key, tampered with, meant
// for another host, expired, or a replay of a message they have seen.
const (
	// TaskKeysPath is the endpoint of the task-signing public keys (GET,
	// agent scope): a TaskKeys.
	TaskKeysPath = "/api/v1/agents/task-keys"
	// TaskTTL is how long a signed task may be run after it was issued;
	// a task the function resends (after its resend interval) gets a new signature.
	TaskTTL = 10 * time.Minute
	// MaxTaskTTL bounds ExpiresAt-IssuedAt: agents refuse longer-lived
	// tasks, which bounds the nonces they must remember.
	MaxTaskTTL = time.Hour
	// MaxClockSkew is how far in the future a task's IssuedAt may be.
	MaxClockSkew = time.Minute
	// signContext starts the signed bytes: a task signature can never be
	// taken for a signature of anything else.
	signContext = "wharf deploy task v1"
)

// SignedTask is a task as published on a host topic. The task's fields
// are at the top level of its JSON, as they were before tasks were
// signed, so that an agent of the previous release still reads it during
// a rolling upgrade (it ignores the fields it does not know).
type SignedTask struct {
	Task
	// Nonce is random (32 hex digits) and new for every message, resends
	// included: an agent runs a message once.
	Nonce     string    `json:"nonce"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// KeyID names the signing key (KeyID of its public key).
	KeyID string `json:"key_id"`
	// Sig is the Ed25519 signature of SignedBytes (base64 in JSON).
	Sig []byte `json:"sig"`
}

// TaskKey is one public key of TaskKeys.
type TaskKey struct {
	KeyID     string `json:"key_id"`
	PublicKey []byte `json:"public_key"` // 32 bytes, base64 in JSON
}

// TaskKeys is the answer of TaskKeysPath.
type TaskKeys struct {
	Keys []TaskKey `json:"keys"`
}

// KeyID names a public key: the first 8 bytes of its sha256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// SignedBytes are the bytes the signature covers: a context string, then
// every field of the task (deploy id, task id, host, kind, app, version,
// sha256 in lower case, resend), the nonce, issued-at and expiry (Unix
// nanoseconds) and the key id, each length-prefixed, so that no two
// different tasks have the same bytes.
func (s *SignedTask) SignedBytes() []byte {
	t := s.Task
	resend := "0"
	if t.Resend {
		resend = "1"
	}
	fields := []string{
		signContext, t.DeployID, strconv.Itoa(t.TaskID), t.Host, string(t.Kind), t.App, t.Version,
		strings.ToLower(t.SHA256), resend, s.Nonce,
		strconv.FormatInt(s.IssuedAt.UnixNano(), 10), strconv.FormatInt(s.ExpiresAt.UnixNano(), 10), s.KeyID,
	}
	return framed(fields)
}

// Sign sets KeyID and Sig with priv.
func (s *SignedTask) Sign(priv ed25519.PrivateKey) {
	s.KeyID = KeyID(priv.Public().(ed25519.PublicKey))
	s.Sig = ed25519.Sign(priv, s.SignedBytes())
}

// Verify reports whether Sig is pub's signature of s.
func (s *SignedTask) Verify(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && len(s.Sig) == ed25519.SignatureSize &&
		ed25519.Verify(pub, s.SignedBytes(), s.Sig)
}

// framed joins fields, each prefixed by its length (4 bytes, big endian),
// so that no two lists of fields encode alike: the bytes a signature covers.
func framed(fields []string) []byte {
	n := 0
	for _, f := range fields {
		n += 4 + len(f)
	}
	b := make([]byte, 0, n)
	for _, f := range fields {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}
