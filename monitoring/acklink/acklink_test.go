package acklink

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var (
	key   = bytes.Repeat([]byte{7}, 32)
	other = bytes.Repeat([]byte{8}, 32)
	now   = time.Unix(1_800_000_000, 0)
)

func TestSignVerify(t *testing.T) {
	t.Parallel()
	tok := Sign(key, "s_7_abc", "PROBLEM.1.1799999940", now.Add(time.Hour))
	c, err := Verify(key, tok, now)
	if err != nil || c.Case != "s_7_abc" || c.Step != "PROBLEM.1.1799999940" || !c.ExpiresAt().Equal(now.Add(time.Hour)) {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := Verify(key, tok, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	if _, err := Verify(other, tok, now); !errors.Is(err, ErrForged) {
		t.Fatalf("another key: %v", err)
	}
	// Another case or step under the same signature is forged.
	payload, sig, _ := strings.Cut(tok, ".")
	forged := Sign(other, "s_7_other", "PROBLEM.1.1799999940", now.Add(time.Hour))
	fp, _, _ := strings.Cut(forged, ".")
	for _, bad := range []string{"", ".", payload, payload + ".", "." + sig, fp + "." + sig, tok + "x", strings.Repeat("a", 5000)} {
		if _, err := Verify(key, bad, now); !errors.Is(err, ErrForged) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if Sign(key[:31], "a", "b", now) != "" {
		t.Fatal("a short key signs")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(Sign(key, "s_1", "PROBLEM.1.1", now.Add(time.Hour)))
	f.Add("eyJjIjoiYSJ9.AAAA")
	f.Add("..")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := Verify(key, tok, now)
		if err == nil && (c.Case == "" || c.Step == "" || Sign(key, c.Case, c.Step, c.ExpiresAt()) == "") {
			t.Fatalf("accepted %q as %+v", tok, c)
		}
	})
}

// A signature whose last character differs only in its unused low bits
// decodes to the same bytes; it is refused all the same (Strict), so a
// link has one spelling. (An e2e test altering the last character
// passed it as valid about one run in sixteen.)
func TestNonCanonicalSignatureRefused(t *testing.T) {
	t.Parallel()
	for i := range 64 {
		tok := Sign(key, fmt.Sprintf("s_%d", i), "PROBLEM.1.1", now.Add(time.Hour))
		last := tok[len(tok)-1]
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		pos := strings.IndexByte(alphabet, last)
		twin := alphabet[pos^1] // same top 2 bits, another unused low bit
		if _, err := Verify(key, tok[:len(tok)-1]+string(twin), now); !errors.Is(err, ErrForged) {
			t.Fatalf("%q with its last character %q for %q: %v", tok, twin, last, err)
		}
	}
}
