package engine

import (
	"strings"
	"unicode/utf8"
)

// compareVersions applies a $v… operator: both sides padded as
// GrowthBook's paddedVersionString, then compared as JavaScript strings.
// The padded forms are built in stack buffers; only versions longer than
// them allocate.
func compareVersions(op string, actual, expected any) bool {
	var ba, bb [64]byte
	c := compareUTF16Bytes(appendPaddedVersion(ba[:0], actual), appendPaddedVersion(bb[:0], expected))
	switch op {
	case "$veq":
		return c == 0
	case "$vne":
		return c != 0
	case "$vgt":
		return c > 0
	case "$vgte":
		return c >= 0
	case "$vlt":
		return c < 0
	}
	return c <= 0 // $vlte
}

// appendPaddedVersion appends GrowthBook's paddedVersionString of v: a
// leading "v" and a "+build" suffix removed, split at "-" and ".", "~"
// appended to a plain x.y.z (so a release sorts after its pre-releases),
// numeric parts left-padded with spaces to 5 characters so they compare
// as numbers, joined with "-".
func appendPaddedVersion(dst []byte, v any) []byte {
	s, ok := v.(string)
	if f, isNum := number(v); isNum {
		s, ok = numberString(f), true
	}
	if !ok || s == "" {
		s = "0"
	}
	s = strings.TrimPrefix(s, "v")
	// /\+.*$/ without the m flag: the first "+" after the last line
	// terminator, up to the end.
	last := strings.LastIndexAny(s, "\n\r\u2028\u2029")
	if last < 0 {
		last = 0
	}
	if i := strings.IndexByte(s[last:], '+'); i >= 0 {
		s = s[:last+i]
	}
	parts := 1
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == '.' {
			parts++
		}
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '-' && s[i] != '.' {
			continue
		}
		if start > 0 {
			dst = append(dst, '-')
		}
		part := s[start:i]
		if isDigits(part) {
			for range 5 - len(part) {
				dst = append(dst, ' ')
			}
		}
		dst = append(dst, part...)
		start = i + 1
	}
	if parts == 3 {
		dst = append(dst, '-', '~')
	}
	return dst
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareUTF16Bytes is compareUTF16 for byte slices.
func compareUTF16Bytes(a, b []byte) int {
	for len(a) > 0 && len(b) > 0 {
		ra, na := utf8.DecodeRune(a)
		rb, nb := utf8.DecodeRune(b)
		if ra != rb {
			if utf16Key(ra) < utf16Key(rb) {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return -1
	}
	return 1
}
