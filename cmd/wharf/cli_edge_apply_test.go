package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/apiclient"
)

// TestEdgeApplyRediffsWhenChangedMeanwhile changes a route through the API
// between the diff `edge apply` shows and its write: with --yes the apply
// stops and the change survives; asked on a terminal, it shows the new diff
// (naming the change it would now undo) and asks again.
func TestEdgeApplyRediffsWhenChangedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	up := startEcho(t)
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte(edgeYAML(up, 20)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	tok := p.waitFor(reToken, 5*time.Second)[1]
	newFile := filepath.Join(dir, "new.yaml")
	if err := os.WriteFile(newFile, []byte(edgeYAML(up, 20, "docs")), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := readEdgeFile(newFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	flags := &writeFlags{clientFlags: clientFlags{server: gw, token: tok, output: "table"}}

	// meddle returns the apply with a route put through the API right
	// before its first write.
	meddle := func(name string) edgeWrite {
		w := applyFile(newFile, e, false)
		write, done := w.write, false
		w.write = func(ctx context.Context, cl *apiclient.Client, ifVersion int64) (int64, error) {
			if !done {
				done = true
				if r := call(t, "PUT", gw+"/api/v1/gateway/routes/"+name, tok, map[string]any{"path": "/" + name + "/", "service": "shop"}); r.status != 201 {
					t.Fatalf("concurrent change: %d %s", r.status, r.raw)
				}
			}
			return write(ctx, cl, ifVersion)
		}
		return w
	}

	flags.yes = true
	var out bytes.Buffer
	err = meddle("concurrent").run(cmd, flags, &out)
	if err == nil || !strings.Contains(err.Error(), "changed since the diff was made") || !strings.Contains(out.String(), "409") {
		t.Fatalf("--yes after a concurrent change: %v\n%s", err, out.String())
	}
	if r := call(t, "GET", gw+"/api/v1/gateway/routes/concurrent", tok, nil); r.status != 200 {
		t.Fatalf("the concurrent change was lost: %d %s", r.status, r.raw)
	}

	flags.yes = false
	out.Reset()
	w := meddle("second")
	asked := 0
	w.confirm = func() (bool, error) { asked++; return true, nil }
	if err := w.run(cmd, flags, &out); err != nil {
		t.Fatalf("interactive apply: %v\n%s", err, out.String())
	}
	text := out.String()
	_, again, found := strings.Cut(text, "The new diff:")
	if !found || asked != 2 || !strings.Contains(again, "- route second") || !strings.Contains(again, "- route concurrent") || !strings.Contains(text, "Done: edge config version 4") {
		t.Fatalf("asked %d times:\n%s", asked, text)
	}
	p.stop(10 * time.Second)
}
