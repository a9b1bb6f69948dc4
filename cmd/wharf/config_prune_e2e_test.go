package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestConfigAgentDropsAClusterNoInstanceReads: a real serve and its
// agent. A redeploy keeps the app's config files; a redeploy whose
// manifest reads cluster blue gets blue's files (the default cluster's
// namespace, Apollo's fallback), and once the old instance is retired the
// default cluster's files are gone and only blue is kept up to date.
func TestConfigAgentDropsAClusterNoInstanceReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("services:\n  - name: shop\nroutes:\n  - {name: shop, path: /shop, service: shop}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=200ms"}, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	token := p.waitFor(reToken, 5*time.Second)[1]
	api := configAPI{t: t, gw: gw, token: token}
	api.must(201, http.MethodPost, gw+"/api/v1/config/apps/shop/namespaces", map[string]any{"cluster": "default", "name": "application"})
	api.publish("shop", "application", map[string]string{"greeting": "hello"}, "first")

	env := []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + token}
	bin := buildConfigApp(t, t.TempDir())
	deploy := func(version, extra string) {
		t.Helper()
		if out, errOut, code := runWharf(t, dir, env, "push", bundleDir(t, bin, extra), "--version", version); code != 0 {
			t.Fatalf("push %s: %s %s", version, out, errOut)
		}
		testenv.Eventually(t, 20*time.Second, func() error {
			if _, errOut, code := runWharf(t, dir, env, "deploy", "shop", version, "--watch"); code != 0 {
				return fmt.Errorf("deploy %s: %s", version, errOut)
			}
			return nil
		})
	}
	cfgDir := filepath.Join(dir, "data", "agent", "config", "shop")
	def := filepath.Join(cfgDir, "default", "application.properties")
	deploy("1.0.0", "")
	deploy("1.1.0", "")
	if b, err := os.ReadFile(def); err != nil || string(b) != "greeting=hello\n" {
		t.Fatalf("after a redeploy, the agent's file %s: %q, %v", def, b, err)
	}

	deploy("2.0.0", "config:\n  cluster: blue\n")
	blue := filepath.Join(cfgDir, "blue", "application.properties")
	testenv.Eventually(t, 10*time.Second, func() error {
		if b, err := os.ReadFile(blue); err != nil || string(b) != "greeting=hello\n" {
			return fmt.Errorf("cluster blue's file: %q, %v", b, err)
		}
		if _, err := os.Stat(filepath.Dir(def)); !os.IsNotExist(err) {
			return fmt.Errorf("cluster default's files with no instance reading them: %v", err)
		}
		return nil
	})
	// Blue is the one kept up to date.
	api.publish("shop", "application", map[string]string{"greeting": "hi"}, "second")
	testenv.Eventually(t, 10*time.Second, func() error {
		if b, err := os.ReadFile(blue); err != nil || string(b) != "greeting=hi\n" {
			return fmt.Errorf("cluster blue's file after a publish: %q, %v", b, err)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Dir(def)); !os.IsNotExist(err) {
		t.Fatalf("cluster default's files came back: %v", err)
	}
}
