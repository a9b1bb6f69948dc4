package auth

import (
	"strings"
	"testing"
)

// validToken is a well-formed token with a known id.
const (
	validID     = "0123456789abcdef"
	validSecret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	validToken  = tokenPrefix + validID + "_" + validSecret
)

func TestNewTokenIsWellFormedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		id, plain, err := newToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != idLen {
			t.Fatalf("id %q has length %d, want %d", id, len(id), idLen)
		}
		got, ok := parseToken(plain)
		if !ok || got != id {
			t.Fatalf("parseToken(%q) = %q, %v; want %q, true", plain, got, ok, id)
		}
		if seen[plain] || seen[id] {
			t.Fatalf("duplicate token or id after %d tokens: %q", len(seen), plain)
		}
		seen[plain], seen[id] = true, true
	}
}

func TestParseToken(t *testing.T) {
	tests := []struct {
		name   string
		tok    string
		wantID string
		ok     bool
	}{
		{"good", validToken, validID, true},
		{"empty", "", "", false},
		{"prefix only", tokenPrefix, "", false},
		{"wrong prefix", "wharg_" + validID + "_" + validSecret, "", false},
		{"upper-case prefix", "WHARF_" + validID + "_" + validSecret, "", false},
		{"no prefix", validID + "_" + validSecret, "", false},
		{"leading space", " " + validToken, "", false},
		{"trailing space", validToken + " ", "", false},
		{"trailing newline", validToken + "\n", "", false},
		{"secret one short", validToken[:len(validToken)-1], "", false},
		{"secret one long", validToken + "0", "", false},
		{"id one short", tokenPrefix + validID[1:] + "_" + validSecret + "0", "", false},
		{"missing separator", tokenPrefix + validID + "0" + validSecret, "", false},
		{"wrong separator", tokenPrefix + validID + "-" + validSecret, "", false},
		{"upper-case hex in id", tokenPrefix + "0123456789ABCDEF_" + validSecret, "", false},
		{"upper-case hex in secret", tokenPrefix + validID + "_" + strings.ToUpper(validSecret), "", false},
		{"non-hex in id", tokenPrefix + "0123456789abcdeg_" + validSecret, "", false},
		{"non-hex in secret", tokenPrefix + validID + "_" + validSecret[:63] + "z", "", false},
		{"base64url in secret", tokenPrefix + validID + "_" + validSecret[:62] + "-_", "", false},
		{"slash in id", tokenPrefix + "0123456789abcd/f_" + validSecret, "", false},
		{"non-ascii", tokenPrefix + validID + "_" + validSecret[:62] + "é", "", false},
		{"NUL", tokenPrefix + validID + "_" + validSecret[:63] + "\x00", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, ok := parseToken(tt.tok)
			if id != tt.wantID || ok != tt.ok {
				t.Fatalf("parseToken(%q) = %q, %v; want %q, %v", tt.tok, id, ok, tt.wantID, tt.ok)
			}
		})
	}
}

func TestHashTokenAndHashEqual(t *testing.T) {
	h := hashToken(validToken)
	if len(h) != 64 || strings.Contains(h, validSecret) {
		t.Fatalf("hash %q: want 64 hex characters not containing the secret", h)
	}
	if hashToken(validToken) != h {
		t.Fatal("hashToken is not deterministic")
	}
	if !hashEqual(validToken, h) {
		t.Fatal("hashEqual rejects the token's own hash")
	}
	other := validToken[:len(validToken)-1] + "1"
	for _, stored := range []string{hashToken(other), "", h[:63], strings.ToUpper(h), h + "0"} {
		if hashEqual(validToken, stored) {
			t.Errorf("hashEqual(%q, %q) = true", validToken, stored)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer " + validToken, validToken, true},
		{"bearer " + validToken, validToken, true},
		{"BEARER " + validToken, validToken, true},
		{"BeArEr " + validToken, validToken, true},
		{"Bearer    " + validToken, validToken, true},
		{"Bearer " + validToken + "   ", validToken, true},
		{"Bearer \t" + validToken + "\t\r\n", validToken, true},
		{"Bearer x", "x", true},
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer      ", "", false},
		{"Bearer \t", "", false},
		{"Bearer" + validToken, "", false},
		{"Bearer\t" + validToken, "", false},
		{" Bearer " + validToken, "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Token " + validToken, "", false},
		{"Bearerx " + validToken, "", false},
		{validToken, "", false},
	}
	for _, tt := range tests {
		got, ok := BearerToken([]byte(tt.header))
		if got != tt.want || ok != tt.ok {
			t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
	if got, ok := BearerToken(nil); got != "" || ok {
		t.Errorf("BearerToken(nil) = %q, %v", got, ok)
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(validToken)
	f.Add("")
	f.Add(tokenPrefix)
	f.Add(tokenPrefix + validID + "_")
	f.Add(tokenPrefix + strings.Repeat("_", idLen+1+2*secretBytes))
	f.Add(strings.ToUpper(validToken))
	f.Add(validToken + "\x00")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := parseToken(s)
		if !ok {
			if id != "" {
				t.Fatalf("parseToken(%q) rejected the token but returned id %q", s, id)
			}
			return
		}
		// An accepted token has exactly the documented shape.
		if len(s) != len(validToken) || !strings.HasPrefix(s, tokenPrefix) {
			t.Fatalf("parseToken accepted %q of length %d", s, len(s))
		}
		if len(id) != idLen || s[len(tokenPrefix):len(tokenPrefix)+idLen] != id {
			t.Fatalf("parseToken(%q) returned id %q", s, id)
		}
		for i, c := range []byte(s[len(tokenPrefix):]) {
			if i == idLen {
				if c != '_' {
					t.Fatalf("accepted %q without '_' separator", s)
				}
				continue
			}
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				t.Fatalf("accepted %q with non-hex byte %q", s, c)
			}
		}
	})
}

func FuzzBearerToken(f *testing.F) {
	f.Add([]byte("Bearer " + validToken))
	f.Add([]byte("bearer x"))
	f.Add([]byte("Bearer "))
	f.Add([]byte("Bearer"))
	f.Add([]byte(""))
	f.Add([]byte("Basic abc"))
	f.Add([]byte("Bearer \t\r\n"))
	f.Add([]byte("BEARER\xff\xfe x"))
	f.Fuzz(func(t *testing.T, header []byte) {
		orig := string(header)
		tok, ok := BearerToken(header)
		if string(header) != orig {
			t.Fatal("BearerToken modified its input")
		}
		if b, bok := BearerTokenBytes(header); string(b) != tok || bok != ok {
			t.Fatalf("BearerTokenBytes(%q) = %q, %v; BearerToken %q, %v", header, b, bok, tok, ok)
		}
		if !ok {
			if tok != "" {
				t.Fatalf("BearerToken(%q) = %q, false; want empty token on failure", header, tok)
			}
			return
		}
		if tok == "" || tok != strings.TrimSpace(tok) {
			t.Fatalf("BearerToken(%q) = %q: empty or untrimmed", header, tok)
		}
		if !strings.EqualFold(orig[:7], "bearer ") || !strings.Contains(orig, tok) {
			t.Fatalf("BearerToken(%q) = %q from a header that is not a bearer credential", header, tok)
		}
	})
}
