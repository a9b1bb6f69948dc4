package config_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlyTheStandardLibrary keeps the package importable by any
// app: nothing but the standard library (internal/layers checks Wharf's
// own packages; this checks third-party ones too).
func TestImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/wharfhq/wharf/client/config" {
			t.Errorf("imports %s", p)
		}
	}
}
