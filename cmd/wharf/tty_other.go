//go:build !linux

package main

import "os"

// stdinTerminal reports whether f is a terminal a person can answer on; off
// Linux it trusts the character-device bit (so /dev/null counts: pass --yes
// or a pipe to be sure).
func stdinTerminal(f *os.File) bool { return isTerminal(f) }
