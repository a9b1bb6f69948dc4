// Package ident holds the one rule for the names Wharf's objects share:
// services, rooms, routes, limits and label keys.
package ident

// MaxName is the longest name, in bytes (a DNS label's limit).
const MaxName = 63

// NameRule describes Name for error messages.
const NameRule = "1-63 of a-z, 0-9, '-', '_'"

// Name reports whether s is a valid name: 1 to MaxName bytes of a-z, 0-9,
// '-' and '_', not starting with '-' or '_'.
func Name(s string) bool {
	if len(s) == 0 || len(s) > MaxName {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '-' || c == '_') && i > 0) {
			return false
		}
	}
	return true
}
