package main

import (
	"os"
	"path/filepath"
	"testing"
)

// An isolating agent never leaves its token file readable by the users
// deployed apps run as.
func TestAgentTokenFileIsMadePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.token")
	if err := os.WriteFile(path, []byte("wharf_x"), 0o644); err != nil {
		t.Fatal(err)
	}
	was, err := privateTokenFile(path)
	if err != nil || was != 0o644 {
		t.Fatalf("got %04o %v", was, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", fi.Mode().Perm())
	}
	if was, err := privateTokenFile(path); err != nil || was != 0 {
		t.Fatalf("a private file changed again: %04o %v", was, err)
	}
	if was, err := privateTokenFile(filepath.Join(t.TempDir(), "missing")); err != nil || was != 0 {
		t.Fatalf("missing file: %04o %v", was, err)
	}
}
