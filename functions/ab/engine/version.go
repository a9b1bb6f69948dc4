package engine

import (
	"strings"
)

// compareVersions applies a $v… operator: both sides padded as
// GrowthBook's paddedVersionString, then compared as JavaScript strings.
func compareVersions(op string, actual, expected any) bool {
	c := compareUTF16(paddedVersion(actual), paddedVersion(expected))
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

// paddedVersion is GrowthBook's paddedVersionString: a leading "v" and a
// "+build" suffix removed, split at "-" and ".", "~" appended to a plain
// x.y.z (so a release sorts after its pre-releases), and numeric parts
// left-padded with spaces to 5 characters so they compare as numbers.
func paddedVersion(v any) string {
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
	parts := splitVersion(s)
	if len(parts) == 3 {
		parts = append(parts, "~")
	}
	for i, p := range parts {
		if isDigits(p) && len(p) < 5 {
			parts[i] = strings.Repeat(" ", 5-len(p)) + p
		}
	}
	return strings.Join(parts, "-")
}

// splitVersion splits at every "-" and ".", keeping empty parts as
// JavaScript's split does.
func splitVersion(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' || s[i] == '.' {
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
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
