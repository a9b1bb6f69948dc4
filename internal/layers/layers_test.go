package layers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/layers"
)

// TestModuleFollowsTheLayers runs `go list` over the whole module and
// fails naming every import that breaks a rule of DESIGN.md (see the
// package comment). Test files are not part of the graph: a test may
// wire real neighbours together.
func TestModuleFollowsTheLayers(t *testing.T) {
	graph := moduleGraph(t)
	if len(graph) < 20 || graph["runner/agent"] == nil {
		t.Fatalf("go list found %d packages; the module's graph looks wrong", len(graph))
	}
	for _, v := range layers.Check(graph) {
		t.Errorf("%s", v)
	}
}

// TestCheckNamesEachRule feeds graphs that break each rule once.
func TestCheckNamesEachRule(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		from, to string
		rule     string // part of the rule; "" for an allowed import
	}{
		{"functions/deploy", "functions/artifacts", "no other function"},
		{"functions/deploy", "functions/deploy/plan", ""},
		{"functions/deploy", "artifacts/catalog", ""},
		{"functions/deploy/wire", "functions/deploy/plan", "contract package"},
		{"functions/deploy", "runner/agent", "functions may import only"},
		{"runner/agent", "functions/deploy/plan", "only the contracts"},
		{"runner/agent", "functions/deploy", "only the contracts"},
		{"runner/agent", "functions/deploy/wire", ""},
		{"runner/agent", "gateway", "runner may import only"},
		{"gateway", "functions/deploy/wire", "gateway may import only"},
		{"gateway/proxy", "internal/httperr", ""},
		{"artifacts/catalog", "functions/artifacts", "artifacts may import only"},
		{"internal/store", "gateway/edge", "internal may import only"},
		{"cmd/wharf", "functions/deploy", ""},
		{"tools/x", "internal/store", "no import rule"},
		{"client/config", "internal/store", "client may import only"},
		{"runner/agent", "client/config", ""},
	} {
		vs := layers.Check(map[string][]string{tt.from: {tt.to}})
		switch {
		case tt.rule == "" && len(vs) != 0:
			t.Errorf("%s → %s refused: %v", tt.from, tt.to, vs)
		case tt.rule != "" && (len(vs) != 1 || !strings.Contains(vs[0].String(), tt.rule)):
			t.Errorf("%s → %s: got %v, want one violation saying %q", tt.from, tt.to, vs, tt.rule)
		}
	}
}

// moduleGraph is the module's import graph by `go list`, paths relative
// to the module.
func moduleGraph(t *testing.T) map[string][]string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("cannot find the go command: %v", err)
	}
	root := filepath.Join("..", "..")
	cmd := exec.Command(goBin, "list", "-e", "-json=ImportPath,Imports,Module,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var mod string
	graph := map[string][]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Module     *struct{ Path string }
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("cannot decode go list: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Module == nil {
			t.Fatalf("go list: %s is in no module", p.ImportPath)
		}
		mod = p.Module.Path + "/"
		from := strings.TrimPrefix(p.ImportPath, mod)
		graph[from] = []string{}
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, mod); ok {
				graph[from] = append(graph[from], rel)
			}
		}
	}
	return graph
}
