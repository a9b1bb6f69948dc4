package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// A token revoked through the CLI stops working on every gateway node
// within a second, although each node answered it from its token cache.
func TestRevokedTokenStopsOnEveryNodeWithinASecond(t *testing.T) {
	redis := testenv.StartRedis(t)
	nsqd := testenv.StartNSQD(t)
	p1 := startWharf(t, t.TempDir(), nil, roleArgs("gateway", "--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr)...)
	gw1 := p1.waitFor(reRoleHTTP, 30*time.Second)[1]
	admin := p1.waitFor(reToken, 5*time.Second)[1]
	p2 := startWharf(t, t.TempDir(), nil, roleArgs("gateway", "--redis-addr", redis.Addr, "--nsq-nsqd", nsqd.Addr)...)
	gw2 := p2.waitFor(reRoleHTTP, 30*time.Second)[1]

	dir := t.TempDir()
	env := []string{"WHARF_SERVER=" + gw1, "WHARF_TOKEN=" + admin}
	out, errOut, code := runWharf(t, dir, env, "token", "create", "--team", "shop", "-o", "json")
	if code != 0 {
		t.Fatalf("token create: %d %s %s", code, out, errOut)
	}
	m := regexp.MustCompile(`"token": "(wharf_([0-9a-f]{16})_\w+)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in %s", out)
	}
	team, id := m[1], m[2]
	for _, gw := range []string{gw1, gw2} {
		for range 3 { // the first check reads the store, the next ones the cache
			if r := call(t, "GET", gw+"/api/v1/whoami", team, nil); r.status != 200 || !strings.Contains(r.raw, "team:shop") {
				t.Fatalf("%s whoami: %d %s", gw, r.status, r.raw)
			}
		}
	}
	// A wrong secret for the cached token's id is refused on both nodes.
	wrong := team[:len(team)-1] + "0"
	if wrong == team {
		wrong = team[:len(team)-1] + "1"
	}
	for _, gw := range []string{gw1, gw2} {
		if r := call(t, "GET", gw+"/api/v1/whoami", wrong, nil); r.status != 401 {
			t.Fatalf("%s whoami with a wrong secret: %d %s", gw, r.status, r.raw)
		}
	}

	if _, errOut, code := runWharf(t, dir, env, "token", "revoke", id); code != 0 {
		t.Fatalf("revoke: %s", errOut)
	}
	// The node that revoked refuses the token at once.
	if r := call(t, "GET", gw1+"/api/v1/whoami", team, nil); r.status != 401 || !strings.Contains(r.raw, "invalid or revoked token") {
		t.Fatalf("revoked token on the node that revoked it: %d %s", r.status, r.raw)
	}
	// The other node within a second.
	testenv.Eventually(t, time.Second, func() error {
		if r := call(t, "GET", gw2+"/api/v1/whoami", team, nil); r.status != 401 || !strings.Contains(r.raw, "invalid or revoked token") {
			return fmt.Errorf("revoked token on the other node: %d %s", r.status, r.raw)
		}
		return nil
	})
	_, errOut, code = runWharf(t, dir, []string{"WHARF_SERVER=" + gw2, "WHARF_TOKEN=" + team}, "whoami")
	if code == 0 || !strings.Contains(errOut, "HTTP 401") {
		t.Fatalf("wharf whoami with the revoked token on the other node: %d %s", code, errOut)
	}
	// The admin token still works everywhere.
	for _, gw := range []string{gw1, gw2} {
		if r := call(t, "GET", gw+"/api/v1/whoami", admin, nil); r.status != 200 {
			t.Fatalf("%s admin whoami: %d %s", gw, r.status, r.raw)
		}
	}
	for _, p := range []*proc{p2, p1} {
		if code := p.stop(10 * time.Second); code != 0 {
			t.Fatalf("exit %d: %s", code, p.errOut())
		}
	}
}
