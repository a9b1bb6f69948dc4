// Package ident holds the one rule for the names Wharf's objects share:
// services, rooms, routes, limits and label keys.
package ident

import "unicode/utf8"

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

// Printable reports whether s is safe to store, log and show in a terminal:
// valid UTF-8 without control characters (C0, DEL, C1) or bidirectional
// overrides, which could forge log lines or hide text.
func Printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return false
		}
	}
	return true
}

// Version reports whether s can be a version: 1-128 of A-Z a-z 0-9 . _ - +,
// starting with a letter or digit ("1.4.2", "2026-11-21+build.7"). Pushes,
// deploys, agents and the CLI check versions with it.
func Version(s string) bool {
	if s == "" || len(s) > 128 || !alnum(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && c != '.' && c != '_' && c != '-' && c != '+' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
