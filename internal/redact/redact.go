// Package redact removes credentials from text bound for logs and error
// bodies: Wharf tokens, the values of credential headers (Authorization,
// Cookie, API-key headers) and of credential parameters, and bearer or
// basic credentials wherever they appear. It is pure and safe on any input.
package redact

import (
	"strings"
)

// Mask replaces every credential.
const Mask = "[REDACTED]"

// tokenPrefix starts Wharf tokens: "wharf_" + 16 hex + "_" + 64 hex.
const tokenPrefix = "wharf_"

// credentialNames are header and parameter names whose values are secret,
// lower case. A name matches when it ends one of these (so X-Api-Key and
// Proxy-Authorization match too).
var credentialNames = [...]string{
	"authorization", "cookie", "api-key", "apikey", "api_key", "auth-token",
	"auth_token", "access-token", "access_token", "secret", "password",
	"passwd", "token", "access_key", "secret_key", "session",
}

// String returns s with every credential replaced by Mask.
func String(s string) string {
	if !Contains(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for i < len(s) {
		if n := tokenAt(s, i); n > 0 {
			b.WriteString(Mask)
			i += n
			continue
		}
		if n := schemeAt(s, i); n > 0 {
			// "Bearer xyz" / "Basic xyz": keep the scheme, mask the value.
			sp := strings.IndexByte(s[i:i+n], ' ')
			b.WriteString(s[i : i+sp+1])
			b.WriteString(Mask)
			i += n
			continue
		}
		if v, e := credentialValueAt(s, i); e > 0 {
			b.WriteString(s[i:v])
			b.WriteString(Mask)
			i = e
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// Contains reports whether s may hold a credential String would mask. It is
// cheap for text without any: a scan for a few byte patterns.
func Contains(s string) bool {
	ls := strings.ToLower(s)
	if strings.Contains(ls, tokenPrefix) || strings.Contains(ls, "bearer ") || strings.Contains(ls, "basic ") {
		return true
	}
	for _, n := range credentialNames {
		if strings.Contains(ls, n) {
			return true
		}
	}
	return false
}

// tokenAt returns the length of a Wharf token starting at s[i], or 0. A
// token cut short (a log line clipped mid-token) is masked too, as long as
// its id is complete.
func tokenAt(s string, i int) int {
	// No word boundary is asked for: a token glued to other text (two in
	// a row, say) is masked all the same.
	if !hasFoldPrefix(s[i:], tokenPrefix) {
		return 0
	}
	j := i + len(tokenPrefix)
	id := hexRun(s, j)
	if id < 16 {
		return 0
	}
	j += id
	if j < len(s) && s[j] == '_' {
		j++
		j += hexRun(s, j)
	}
	return j - i
}

// schemeAt returns the length of "Bearer <credential>" or "Basic
// <credential>" starting at s[i], or 0.
func schemeAt(s string, i int) int {
	if !boundary(s, i) {
		return 0
	}
	for _, sc := range [...]string{"bearer ", "basic "} {
		if hasFoldPrefix(s[i:], sc) {
			j := i + len(sc)
			for j < len(s) && s[j] == ' ' {
				j++
			}
			if strings.HasPrefix(s[j:], Mask) {
				return 0 // masked already
			}
			k := j
			for k < len(s) && !isValueEnd(s[k]) {
				k++
			}
			if k == j {
				return 0
			}
			return k - i
		}
	}
	return 0
}

// credentialValueAt finds "<name>: value", "<name>=value" or
// "<name>":"value" at s[i] where name ends in a credential name; it returns
// where the value starts and ends (0, 0 when there is none).
func credentialValueAt(s string, i int) (int, int) {
	if !boundary(s, i) {
		return 0, 0
	}
	j := i
	for j < len(s) && (isWord(s[j]) || s[j] == '-') {
		j++
	}
	if j == i || !isCredentialName(s[i:j]) {
		return 0, 0
	}
	k := j
	if k < len(s) && (s[k] == '"' || s[k] == '\'') {
		k++ // a JSON key's closing quote
	}
	if k >= len(s) || (s[k] != ':' && s[k] != '=') {
		return 0, 0
	}
	k++
	quoted := false
	for k < len(s) && (s[k] == ' ' || s[k] == '"' || s[k] == '\'' || s[k] == '\\') {
		quoted = quoted || s[k] == '"' || s[k] == '\''
		k++
	}
	start := k
	if hasFoldPrefix(s[start:], "bearer ") || hasFoldPrefix(s[start:], "basic ") {
		start = k + strings.IndexByte(s[k:], ' ') + 1
	}
	if strings.HasPrefix(s[start:], Mask) {
		return 0, 0 // masked already
	}
	end := start
	if wholeValue(s[i:j]) {
		// Authorization (any scheme, Digest's parameters too) and
		// cookies (every pair): the value up to the end of its line.
		start = k
		for end = start; end < len(s) && !isLineEnd(s[end], quoted); end++ {
		}
	} else {
		for end < len(s) && !isValueEnd(s[end]) {
			end++
		}
	}
	if end == start {
		return 0, 0
	}
	return start, end
}

func isCredentialName(name string) bool {
	ln := strings.ToLower(name)
	for _, n := range credentialNames {
		if strings.HasSuffix(ln, n) {
			return true
		}
	}
	return false
}

// isValueEnd ends a credential value: white space, quotes, separators of
// header lists and structured text, and escaped line ends.
func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', ',', ';', '&', '}', ']', ')', '\\', '<', '>':
		return true
	}
	return c < 0x20 || c == 0x7f
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func hexRun(s string, i int) int {
	n := 0
	for i+n < len(s) {
		c := s[i+n]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			break
		}
		n++
	}
	return n
}

func hasFoldPrefix(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// HasToken reports whether s holds a whole Wharf token (id and secret),
// the check tests make on every log and error answer.
func HasToken(s string) bool {
	for i := strings.Index(s, tokenPrefix); i >= 0; {
		if n := tokenAt(s, i); n >= len(tokenPrefix)+16+1+64 {
			return true
		}
		j := strings.Index(s[i+1:], tokenPrefix)
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// wholeValue reports whether the whole value of header name is secret.
func wholeValue(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return false
}

// isLineEnd ends a header value: a line end, also escaped (a quoted log
// value), or the quote that closes a quoted value.
func isLineEnd(c byte, quoted bool) bool {
	return c == '\r' || c == '\n' || c == '\\' || quoted && (c == '"' || c == '\'')
}

// boundary reports whether a name or token may start at s[i]: at the
// start, after a non-word byte, or after an escape such as \n in quoted
// text.
func boundary(s string, i int) bool {
	if i == 0 {
		return true
	}
	if s[i-1] == '\\' {
		return false // an escape's letter, as the n of \n
	}
	return !isWord(s[i-1]) || i >= 2 && s[i-2] == '\\'
}

// Value returns the value of a field named key (a log attribute, a
// header) with credentials masked: all of it when key names a credential.
func Value(key, value string) string {
	if value == "" || strings.HasPrefix(value, Mask) {
		return value
	}
	if isCredentialName(key) {
		return Mask
	}
	return String(value)
}
