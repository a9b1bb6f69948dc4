package blob

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Key limits.
const (
	// MaxKeyLen is the longest key, in bytes.
	MaxKeyLen = 1024
	// MaxSegmentLen is the longest segment between slashes, in bytes.
	MaxSegmentLen = 200
)

// CheckKey reports whether key can be stored, as an error wrapping ErrInvalid
// that says why. A key is one or more segments joined by "/"; a segment is 1
// to MaxSegmentLen characters of A-Z a-z 0-9 . _ - + and does not start with
// a dot (dotted names are reserved for the backends' own bookkeeping). Every
// backend accepts exactly these keys, so a key that works on disk works on S3
// and the other way round. Do not use a key as the directory of another
// ("a" and "a/b"): MinIO stores and serves both but lists only "a".
func CheckKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalid)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: key longer than %d bytes", ErrInvalid, MaxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("%w: key %q: %s", ErrInvalid, key, err)
		}
	}
	return nil
}

func checkSegment(seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("empty segment")
	case len(seg) > MaxSegmentLen:
		return fmt.Errorf("segment longer than %d bytes", MaxSegmentLen)
	case seg[0] == '.':
		return fmt.Errorf("segment %q starts with a dot", seg)
	}
	for i := 0; i < len(seg); i++ {
		if !keyChar(seg[i]) {
			return fmt.Errorf("character %q is not allowed", seg[i])
		}
	}
	return nil
}

func keyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == '+'
}

// CheckPrefix reports whether prefix can be a List prefix: empty, or the
// start of a valid key (a trailing "/" is allowed).
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix longer than %d bytes", ErrInvalid, MaxKeyLen)
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		if i == len(segs)-1 && seg == "" {
			break // trailing slash
		}
		if err := checkSegment(seg); err != nil {
			return fmt.Errorf("%w: prefix %q: %s", ErrInvalid, prefix, err)
		}
	}
	return nil
}

// NormalizeSHA256 returns the lowercase form of a hex SHA-256, or an error
// wrapping ErrInvalid when s is not 64 hex digits.
func NormalizeSHA256(s string) (string, error) {
	if len(s) != 64 {
		return "", fmt.Errorf("%w: SHA-256 must be 64 hex digits, got %d characters", ErrInvalid, len(s))
	}
	s = strings.ToLower(s)
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("%w: SHA-256 %q is not hex", ErrInvalid, s)
	}
	return s, nil
}
