package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAPIReferenceListsEveryRoute: docs/api.md names every route a
// running serve registers (from the internal listener's /routes), and no
// route that does not exist, so the reference cannot fall behind the code.
func TestAPIReferenceListsEveryRoute(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, nil, serveArgs(t)...)
	p.waitFor(reGateway, 30*time.Second)
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	r := call(t, "GET", internal+"/routes", "", nil)
	if r.status != 200 {
		t.Fatalf("GET /routes: %d %s", r.status, r.raw)
	}
	var got struct {
		Routes []struct{ Function, Method, Pattern, Access string }
	}
	if err := json.Unmarshal([]byte(r.raw), &got); err != nil || len(got.Routes) < 10 {
		t.Fatalf("routes %s: %v", r.raw, err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if rest, ok := strings.CutPrefix(line, "| `"); ok {
			if i := strings.IndexByte(rest, '`'); i > 0 {
				documented[rest[:i]] = true
			}
		}
	}
	served := map[string]bool{}
	for _, rt := range got.Routes {
		key := rt.Method + " " + rt.Pattern
		served[key] = true
		if !documented[key] {
			t.Errorf("docs/api.md does not list %s (function %s, access %s)", key, rt.Function, rt.Access)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("docs/api.md lists %s, which serve does not have", key)
		}
	}
}
