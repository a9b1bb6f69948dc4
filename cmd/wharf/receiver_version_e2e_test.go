package main

import (
	"testing"
	"time"
)

// TestReceiverPutIfVersionCLI: `wharf receiver put --if-version N` (or
// "version" in the file, as `show -o json` prints it) is refused when
// another write came first, and the refused write changes nothing; a put
// without a version replaces the receiver as before.
func TestReceiverPutIfVersionCLI(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false", allowLoopbackReceivers)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": "shop", "scopes": []string{"team:shop"}})
	if r.status != 201 {
		t.Fatalf("create token: %d %s", r.status, r.raw)
	}
	shop := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + r.body["token"].(string)}}

	hook := func(path string) string {
		return writeFile(t, "chat.json", `{"name":"chat","kind":"webhook","url":"http://127.0.0.1:9/`+path+`"}`)
	}
	shop.ok("receiver", "put", "--if-version", "0", "-f", hook("a"))
	wantLines(t, "show", shop.ok("receiver", "show", "chat", "-o", "json"), `"version": 1`, "/a")
	shop.fails(`receiver "chat" of team "shop" is at version 1, not 0`, "receiver", "put", "--if-version", "0", "-f", hook("b"))
	wantLines(t, "put at the version read", shop.ok("receiver", "put", "--if-version", "1", "-f", hook("b")), "Receiver chat of team shop: webhook http://127.0.0.1:9/b.")
	// Another editor's copy, read at version 1.
	stale := writeFile(t, "stale.json", `{"name":"chat","kind":"webhook","url":"http://127.0.0.1:9/stale","version":1}`)
	shop.fails("is at version 2, not 1", "receiver", "put", "-f", stale)
	shop.fails("is at version 2, not 1", "receiver", "put", "--if-version", "1", "-f", hook("stale"))
	wantLines(t, "after the refused writes", shop.ok("receiver", "show", "chat"), "http://127.0.0.1:9/b", "2")
	shop.ok("receiver", "put", "-f", hook("c"))
	wantLines(t, "last write without a version", shop.ok("receiver", "show", "chat", "-o", "json"), `"version": 3`, "/c")
}
