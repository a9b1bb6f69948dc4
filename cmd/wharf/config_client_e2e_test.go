package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wharfhq/wharf/client/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// configApp is an app that reads its config the way the agent's cache
// lays it out: at start, $WHARF_CONFIG_DIR/application.properties, which
// / answers (404 when there is none).
const configApp = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	b, err := os.ReadFile(os.Getenv("WHARF_CONFIG_DIR") + "/application.properties")
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			http.Error(w, err.Error(), 404)
			return
		}
		w.Write(b)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// buildConfigApp compiles configApp into dir/server.
func buildConfigApp(t *testing.T, dir string) string {
	t.Helper()
	src := t.TempDir()
	for name, body := range map[string]string{"main.go": configApp, "go.mod": "module configapp\n\ngo 1.26\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the config app: %v\n%s", err, out)
	}
	return bin
}

// configAPI drives the config function's team API with a token.
type configAPI struct {
	t     *testing.T
	gw    string
	token string
}

func (c configAPI) ns(app, ns string) string {
	return c.gw + "/api/v1/config/apps/" + app + "/clusters/default/namespaces/" + ns
}

// must calls the API and fails the test on a status other than want.
func (c configAPI) must(want int, method, url string, body any) apiResp {
	c.t.Helper()
	r := call(c.t, method, url, c.token, body)
	if r.status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, url, r.status, r.raw, want)
	}
	return r
}

// publish sets items and publishes namespace ns of app.
func (c configAPI) publish(app, ns string, items map[string]string, comment string) {
	c.t.Helper()
	for k, v := range items {
		c.must(200, http.MethodPut, c.ns(app, ns)+"/items/"+k, map[string]any{"value": v})
	}
	c.must(201, http.MethodPost, c.ns(app, ns)+"/releases", map[string]any{"comment": comment})
}

// TestConfigAgentCacheE2E: a real serve and its agent. The agent writes a
// deployed app's namespace to <data>/agent/config/shop/default/ before
// the app starts; a publish rewrites the file and runs the manifest's
// config_reload hook; with serve stopped the file stays, an instance
// started during the outage reads it, and the client package starts from
// it.
func TestConfigAgentCacheE2E(t *testing.T) {
	// Long and mostly waiting: runs beside the other parallel e2e tests,
	// after the sequential ones (which count goroutines and listeners).
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
	bdir := bundleDir(t, bin, "hooks:\n  config_reload: echo \"$WHARF_CONFIG_NAMESPACE\" >> reloads.txt\nconfig:\n  namespaces: [application]\n")
	if out, errOut, code := runWharf(t, dir, env, "push", bdir, "--version", "1.0.0"); code != 0 {
		t.Fatalf("push: %s %s", out, errOut)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, env, "deploy", "shop", "1.0.0", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	file := filepath.Join(dir, "data", "agent", "config", "shop", "default", "application.properties")
	if b, err := os.ReadFile(file); err != nil || string(b) != "greeting=hello\n" {
		t.Fatalf("the agent's file %s: %q, %v", file, b, err)
	}
	serves := func(want string) {
		t.Helper()
		testenv.Eventually(t, 10*time.Second, func() error {
			if code, body := get(t, gw+"/shop/"); code != 200 || body != want {
				return fmt.Errorf("GET /shop/: %d %q, want %q", code, body, want)
			}
			return nil
		})
	}
	serves("greeting=hello\n")

	api.publish("shop", "application", map[string]string{"greeting": "hi", "color": "blue"}, "second")
	reloads := filepath.Join(dir, "data", "agent", "apps", "shop", "releases", "1.0.0", "reloads.txt")
	testenv.Eventually(t, 10*time.Second, func() error {
		if b, err := os.ReadFile(file); err != nil || string(b) != "color=blue\ngreeting=hi\n" {
			return fmt.Errorf("the agent's file: %q, %v", b, err)
		}
		if b, err := os.ReadFile(reloads); err != nil || string(b) != "application\n" {
			return fmt.Errorf("the config_reload hook wrote %q, %v", b, err)
		}
		return nil
	})

	// The control plane goes down. The file stays; an instance started
	// now reads it, and so does the client package.
	if code := p.stop(20 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "color=blue\ngreeting=hi\n" {
		t.Fatalf("after serve stopped, the agent's file: %q, %v", b, err)
	}
	port := freePort(t)
	inst := exec.Command(bin)
	inst.Env = []string{"PORT=" + strconv.Itoa(port), config.EnvConfigDir + "=" + filepath.Dir(file)}
	if err := inst.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inst.Process.Kill(); _ = inst.Wait() })
	testenv.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "color=blue\ngreeting=hi\n" {
			return fmt.Errorf("instance started during the outage: %d %q", resp.StatusCode, b)
		}
		return nil
	})
	c, err := config.New(config.Options{Servers: []string{gw}, AppID: "shop", Token: token,
		ConfigDir: filepath.Dir(file), BackupDir: config.NoDir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("client Start with Wharf down and the agent's files: %v", err)
	}
	if ns := c.Namespace("application"); ns.String("color", "") != "blue" || ns.Source() != config.SourceAgent {
		t.Fatalf("client read %v from %q", ns.All(), ns.Source())
	}
}

// freePort is a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
