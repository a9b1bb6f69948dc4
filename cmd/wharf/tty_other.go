//go:build !linux

package main

import "os"

// stdinTerminal reports whether f is a terminal a person can answer on; off
// Linux it trusts the character-device bit (so /dev/null counts: pass --yes
// or a pipe to be sure).
func stdinTerminal(f *os.File) bool { return isTerminal(f) }

// readSecret reads one line from f; off Linux the terminal still echoes it
// (pipe the token in with --token-stdin to keep it off the screen).
func readSecret(f *os.File) (string, error) { return readLine(f) }
