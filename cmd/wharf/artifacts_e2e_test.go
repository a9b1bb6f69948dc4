package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServePushAndArtifactsCLI pushes a directory with `wharf push` to
// `wharf serve` (disk backend) and reads it back with `wharf artifacts`.
func TestServePushAndArtifactsCLI(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}

	app := filepath.Join(dir, "shop")
	if err := os.MkdirAll(filepath.Join(app, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"wharf.yaml":   "app: shop\nprocesses:\n  web: ./server --port $PORT\nhealth:\n  path: /healthz\n",
		".wharfignore": "logs/\n",
		"logs/x.log":   "ignored",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(app, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Over gateway.max_body_bytes (4 MiB): the artifact route allows more.
	big := make([]byte, 6<<20)
	_, _ = rand.Read(big)
	if err := os.WriteFile(filepath.Join(app, "server"), big, 0o755); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := runWharf(t, dir, env, "push", "./shop", "--app", "shop", "--version", "1.4.2")
	if code != 0 || !strings.Contains(out, "Pushed shop 1.4.2") || !strings.Contains(out, "sha256 ") {
		t.Fatalf("push: %d\n%s\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Fatalf("push printed on stderr without a terminal: %q", errOut)
	}
	// The app defaults to the manifest's.
	if out, errOut, code = runWharf(t, dir, env, "push", "shop", "--version", "1.5.0", "--compression", "zstd"); code != 0 {
		t.Fatalf("push without --app: %d\n%s\n%s", code, out, errOut)
	}
	// Versions are immutable; a mismatching --app is refused before uploading.
	if _, errOut, code = runWharf(t, dir, env, "push", "./shop", "--app", "shop", "--version", "1.4.2"); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Fatalf("re-push: %d %s", code, errOut)
	}
	if _, errOut, code = runWharf(t, dir, env, "push", "./shop", "--app", "cart", "--version", "1"); code == 0 || !strings.Contains(errOut, `says app "shop"`) {
		t.Fatalf("wrong app: %d %s", code, errOut)
	}
	if _, errOut, code = runWharf(t, dir, env, "push", "./shop", "--app", "shop"); code == 0 || !strings.Contains(errOut, "--version is required") {
		t.Fatalf("no version: %d %s", code, errOut)
	}

	out, _, code = runWharf(t, dir, env, "artifacts", "list", "shop")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "1.5.0") || !strings.HasPrefix(lines[2], "1.4.2") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	out, _, code = runWharf(t, dir, env, "artifacts", "show", "shop", "1.4.2", "-o", "json")
	var meta struct {
		SHA256   string `json:"sha256"`
		Size     int64  `json:"size"`
		Manifest struct {
			Health struct{ Path string } `json:"health"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(out), &meta); code != 0 || err != nil || meta.Manifest.Health.Path != "/healthz" || meta.Size < 6<<20 {
		t.Fatalf("show: %d %v\n%s", code, err, out)
	}

	target := filepath.Join(dir, "shop.tar.gz")
	out, errOut, code = runWharf(t, dir, env, "artifacts", "download", "shop", "1.4.2", "-o", target)
	if code != 0 || !strings.Contains(out, "verified") || !strings.Contains(out, meta.SHA256) {
		t.Fatalf("download: %d\n%s\n%s", code, out, errOut)
	}
	got, err := os.ReadFile(target)
	if err != nil || int64(len(got)) != meta.Size {
		t.Fatalf("downloaded %d bytes (%v), want %d", len(got), err, meta.Size)
	}
	// It is the gzip bundle the server stored.
	if !bytes.Contains(got[:2], []byte{0x1f, 0x8b}) {
		t.Fatal("download is not gzip")
	}

	if out, errOut, code = runWharf(t, dir, env, "artifacts", "delete", "shop", "1.5.0"); code != 0 || !strings.Contains(out, "Deleted") {
		t.Fatalf("delete: %d %s %s", code, out, errOut)
	}
	if _, errOut, code = runWharf(t, dir, env, "artifacts", "show", "shop", "1.5.0"); code == 0 || !strings.Contains(errOut, "HTTP 404") {
		t.Fatalf("show deleted: %d %s", code, errOut)
	}
	// Bundles live under <data-dir>/artifacts.
	if _, err := os.Stat(filepath.Join(dir, "data", "artifacts", "objects")); err != nil {
		t.Fatalf("artifact dir: %v", err)
	}
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
