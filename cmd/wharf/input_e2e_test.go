package main

import (
	"strings"
	"testing"
)

// A room given twice on the command line is ambiguous, like a duplicate
// JSON key: refused before anything is sent.
func TestRoomWeightsGivenTwiceAreRefused(t *testing.T) {
	_, errOut, code := runWharf(t, t.TempDir(), []string{"WHARF_SERVER=http://127.0.0.1:1"}, "room", "weights", "shop", "bj=20", "sh=80", "bj=80")
	if code == 0 || !strings.Contains(errOut, `room "bj" is given twice`) {
		t.Fatalf("duplicate room: %d %s", code, errOut)
	}
}
