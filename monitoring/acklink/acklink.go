// Package acklink signs and checks the acknowledgement links of alarm
// messages: a token bound to one step of one case (alarm.Case.ID and
// StepKey) that expires, signed with HMAC-SHA256 under a key the notify
// nodes and the alarms function share (functions/alarms/wire.AckKey). Whoever
// holds the link may acknowledge that case at that step — no Wharf token
// needed — and nothing else. Pure: no I/O.
package acklink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Errors of Verify.
var (
	// ErrForged: not a token, or not signed with the key.
	ErrForged = errors.New("the acknowledgement link is not valid")
	// ErrExpired: a valid token past its expiry.
	ErrExpired = errors.New("the acknowledgement link has expired")
)

// MinKeyLen is the shortest signing key Sign and Verify accept.
const MinKeyLen = 32

// maxToken bounds the token Verify reads (a case id and a step key are
// short; the store's keys are at most 1 KiB).
const maxToken = 4096

// domain separates these signatures from any other use of the key.
const domain = "wharf-ack-v1."

// Claims are what a token says.
type Claims struct {
	// Case is the case id, Step the step key the message was about.
	Case string `json:"c"`
	Step string `json:"s"`
	// Expires is the expiry in Unix seconds.
	Expires int64 `json:"e"`
}

// ExpiresAt is the expiry as a time.
func (c Claims) ExpiresAt() time.Time { return time.Unix(c.Expires, 0).UTC() }

// Sign returns the token of step stepKey of case caseID, valid until exp.
// An empty result means key is too short (no link is made then).
func Sign(key []byte, caseID, stepKey string, exp time.Time) string {
	if len(key) < MinKeyLen {
		return ""
	}
	b, err := json.Marshal(Claims{Case: caseID, Step: stepKey, Expires: exp.Unix()})
	if err != nil {
		return ""
	}
	payload := base64.RawURLEncoding.EncodeToString(b)
	return payload + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

// Verify checks token against key at now and returns its claims:
// ErrForged for anything not signed with key, ErrExpired for a signed
// token past its expiry.
func Verify(key []byte, token string, now time.Time) (Claims, error) {
	if len(key) < MinKeyLen || len(token) > maxToken {
		return Claims{}, ErrForged
	}
	payload, sig, ok := strings.Cut(token, ".")
	if !ok || payload == "" {
		return Claims{}, ErrForged
	}
	// Strict: one token per signature (a last character differing only
	// in its unused bits is another token, and is refused).
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, payload)) {
		return Claims{}, ErrForged
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return Claims{}, ErrForged
	}
	var c Claims
	if err := json.Unmarshal(b, &c); err != nil || c.Case == "" || c.Step == "" {
		return Claims{}, ErrForged
	}
	if now.Unix() >= c.Expires {
		return c, ErrExpired
	}
	return c, nil
}

func mac(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(domain))
	m.Write([]byte(payload))
	return m.Sum(nil)
}
