package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// TestServeLockOutIsRefusedAndUnlockLetsBackIn: an operator on the gateway
// host bans their own address through the CLI; it is refused, forced, the
// API shuts them out, and `wharf acl unlock` on the internal listener
// lets them back in.
func TestServeLockOutIsRefusedAndUnlockLetsBackIn(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, serveArgs(t)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	internal := p.waitFor(reInternal, 5*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}

	_, errOut, code := runWharf(t, dir, env, "acl", "ban", "127.0.0.0/8", "--for", "1h")
	if code == 0 || !strings.Contains(errOut, "HTTP 409") || !strings.Contains(errOut, "prefix: 127.0.0.0/8 would lock out 127.0.0.1") || !strings.Contains(errOut, "--force") {
		t.Fatalf("self-ban: %d %s", code, errOut)
	}
	_, errOut, code = runWharf(t, dir, env, "acl", "deny", "add", "127.0.0.1")
	if code == 0 || !strings.Contains(errOut, "HTTP 409") || !strings.Contains(errOut, "cidrs[0]: 127.0.0.1 would lock out 127.0.0.1") {
		t.Fatalf("self-deny: %d %s", code, errOut)
	}
	if out, _, code := runWharf(t, dir, env, "acl", "bans"); code != 0 || strings.Contains(out, "127.0.0.0") {
		t.Fatalf("refused ban was stored: %d %s", code, out)
	}
	if out, errOut, code := runWharf(t, dir, env, "acl", "ban", "127.0.0.0/8", "--for", "1h", "--force"); code != 0 || !strings.Contains(out, "Banned 127.0.0.0/8") {
		t.Fatalf("forced ban: %d %s %s", code, out, errOut)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, env, "acl", "bans"); code == 0 || !strings.Contains(errOut, "HTTP 403") {
			return errString(fmt.Sprintf("not locked out yet: %d %s", code, errOut))
		}
		return nil
	})
	out, errOut, code := runWharf(t, dir, nil, "acl", "unlock", "127.0.0.1", "--internal", internal)
	if code != 0 || !strings.Contains(out, "Lifted bans: 127.0.0.0/8") {
		t.Fatalf("unlock: %d %s %s", code, out, errOut)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, env, "acl", "bans"); code != 0 {
			return errString(fmt.Sprintf("still locked out: %d %s", code, errOut))
		}
		return nil
	})
	p.stop(10 * time.Second)
}
