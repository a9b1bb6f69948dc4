package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// startNamed runs an upstream answering "<name>".
func startNamed(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, name)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestServeRoomsCLI: an operator moves a service between rooms with the
// CLI: an immediate switch, a staged one that is paused, resumed and
// finishes, weights, bad input, and the history.
func TestServeRoomsCLI(t *testing.T) {
	dir := t.TempDir()
	bj, sh := startNamed(t, "bj"), startNamed(t, "sh")
	cfg := filepath.Join(dir, "wharf.yaml")
	yaml := fmt.Sprintf(`services:
  - name: shop
    instances: [{addr: "%s", room: bj}, {addr: "%s", room: sh}]
    rooms: {weights: {bj: 100, sh: 0}, priority: [bj, sh]}
routes:
  - {name: shop, path: /shop/, service: shop}
`, bj, sh)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}
	room := func(args ...string) string {
		t.Helper()
		out, errOut, code := runWharf(t, dir, env, append([]string{"room"}, args...)...)
		if code != 0 {
			t.Fatalf("wharf room %v: exit %d: %s %s", args, code, out, errOut)
		}
		return out
	}
	only := func(want string) {
		t.Helper()
		testenv.Eventually(t, 3*time.Second, func() error {
			for range 10 {
				if code, body := get(t, gw+"/shop/x"); code != 200 || body != want {
					return fmt.Errorf("got %d %q, want only %q", code, body, want)
				}
			}
			return nil
		})
	}
	only("bj")
	if out := room("show", "shop"); !strings.Contains(out, "weights in effect: bj=100 sh=0") || !strings.Contains(out, "ROOM") {
		t.Fatalf("show:\n%s", out)
	}

	// Immediate switch.
	if out := room("switch", "shop", "--to", "sh", "--why", "bj maintenance"); !strings.Contains(out, "Switched shop to bj=0 sh=100") {
		t.Fatalf("switch: %s", out)
	}
	only("sh")

	// Staged weights back, paused and resumed.
	out := room("weights", "shop", "bj=100", "sh=0", "--steps", "50,100", "--interval", "1s", "--why", "back home")
	if !strings.Contains(out, "in 2 steps") || !strings.Contains(out, "now at bj=50 sh=50") {
		t.Fatalf("weights: %s", out)
	}
	if out := room("pause", "shop", "--why", "checking"); !strings.Contains(out, "is paused") {
		t.Fatalf("pause: %s", out)
	}
	if _, errOut, code := runWharf(t, dir, env, "room", "switch", "shop", "--to", "bj"); code == 0 || !strings.Contains(errOut, "paused") {
		t.Fatalf("a second switch while one is paused must be refused: %d %s", code, errOut)
	}
	time.Sleep(1500 * time.Millisecond)
	if out := room("show", "shop"); !strings.Contains(out, "weights in effect: bj=50 sh=50") {
		t.Fatalf("a paused switch must not step:\n%s", out)
	}
	room("resume", "shop")
	only("bj")
	if _, errOut, code := runWharf(t, dir, env, "room", "abort", "shop"); code == 0 || !strings.Contains(errOut, "done") {
		t.Fatalf("abort of a finished switch must be refused: %d %s", code, errOut)
	}

	// Bad input is refused with the field named.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"weights", "shop", "bj=-1"}, "weights"},
		{[]string{"weights", "shop", "bj"}, "ROOM=WEIGHT"},
		{[]string{"switch", "shop", "--to", "BJ!"}, "room names"},
		{[]string{"switch", "shop", "--to", "sh", "--steps", "50,20"}, "steps[1]"},
		{[]string{"switch", "shop", "--to", "sh", "--steps", "10,50"}, "last step must be 100"},
		{[]string{"switch", "nosuch", "--to", "sh"}, "no service"},
	} {
		if _, errOut, code := runWharf(t, dir, env, append([]string{"room"}, tc.args...)...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("wharf room %v: exit %d, stderr %q, want it to mention %q", tc.args, code, errOut, tc.want)
		}
	}

	hist := room("history", "shop")
	lines := readLines(hist)
	if len(lines) != 3 || !strings.Contains(lines[1], "back home") || !strings.Contains(lines[1], "done") || !strings.Contains(lines[2], "bj maintenance") {
		t.Fatalf("history:\n%s", hist)
	}
	// The final weights are the policy now: a restart with the same file keeps them.
	if code := p.stop(10 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	p = startWharf(t, dir, nil, append(serveArgs(t), "--config", cfg)...)
	gw = p.waitFor(reGateway, 30*time.Second)[1]
	only("bj")
}
