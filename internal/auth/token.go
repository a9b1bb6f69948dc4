package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// Token format: "wharf_" + 16 lower-case hex id + "_" + 64 lower-case hex secret
// characters (32 random bytes).
// The id locates the stored record; only SHA-256 of the whole token is stored.
const (
	tokenPrefix = "wharf_"
	idLen       = 16
	secretBytes = 32
)

// newToken returns a fresh token id and its plaintext.
func newToken() (id, plain string, err error) {
	buf := make([]byte, idLen/2+secretBytes)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("cannot read random bytes: %w", err)
	}
	id = hex.EncodeToString(buf[:idLen/2])
	secret := hex.EncodeToString(buf[idLen/2:])
	return id, tokenPrefix + id + "_" + secret, nil
}

// parseToken returns the id in a well-formed token.
func parseToken(tok string) (string, bool) {
	rest, ok := strings.CutPrefix(tok, tokenPrefix)
	if !ok || len(rest) != idLen+1+secretBytes*2 || rest[idLen] != '_' {
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if i == idLen {
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return rest[:idLen], true
}

// hashToken is the stored form of a token.
func hashToken(tok string) string {
	sum := tokenSum(tok)
	return hex.EncodeToString(sum[:])
}

// hashEqual compares a token against a stored hash in constant time.
func hashEqual(tok, storedHex string) bool {
	return sumEqual(tokenSum(tok), storedHex)
}

// tokenSum returns the SHA-256 of a token without a heap copy of it for
// tokens of the well-formed length.
func tokenSum(tok string) [sha256.Size]byte {
	var buf [len(tokenPrefix) + idLen + 1 + 2*secretBytes]byte
	if len(tok) > len(buf) {
		return sha256.Sum256([]byte(tok))
	}
	return sha256.Sum256(append(buf[:0], tok...))
}

// sumEqual compares sum, the SHA-256 of a presented token, against a stored
// hash in constant time, exactly as hashEqual compares the token.
func sumEqual(sum [sha256.Size]byte, storedHex string) bool {
	var buf [2 * sha256.Size]byte
	hex.Encode(buf[:], sum[:])
	return subtle.ConstantTimeCompare(buf[:], []byte(storedHex)) == 1
}

// BearerTokenBytes is BearerToken without a copy: the token is a slice of header.
func BearerTokenBytes(header []byte) ([]byte, bool) {
	const p = "bearer "
	if len(header) <= len(p) || !strings.EqualFold(string(header[:len(p)]), p) {
		return nil, false
	}
	tok := bytes.TrimSpace(header[len(p):])
	return tok, len(tok) != 0
}

// BearerToken extracts the token from an Authorization header value.
func BearerToken(header []byte) (string, bool) {
	const p = "bearer "
	if len(header) <= len(p) || !strings.EqualFold(string(header[:len(p)]), p) {
		return "", false
	}
	tok := strings.TrimSpace(string(header[len(p):]))
	return tok, tok != ""
}
