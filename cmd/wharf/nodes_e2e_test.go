package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestNodeRegistryAcrossRoles: a gateway, a functions and a judge role on
// one Redis each announce themselves; GET /api/v1/nodes on the gateway
// lists all three with their roles, addresses and readiness (a failing
// check by name). A SIGTERM
// removes a node at once (its record is deleted during the shutdown), a
// SIGKILL within the TTL (the record expires). wharf status shows them.
func TestNodeRegistryAcrossRoles(t *testing.T) {
	redis := testenv.StartRedis(t)
	nsqd := testenv.StartNSQD(t)
	minio := testenv.StartMinIO(t)
	env := []string{
		"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr,
		"WHARF_MINIO_ENDPOINT=" + minio.Addr, "WHARF_MINIO_ACCESS_KEY=" + minio.AccessKey, "WHARF_MINIO_SECRET_KEY=" + minio.SecretKey,
	}
	g := startWharf(t, t.TempDir(), env, roleArgs("gateway")...)
	gw := g.waitFor(reRoleHTTP, 30*time.Second)[1]
	gInternal := g.waitFor(reRoleInternal, 5*time.Second)[1]
	tok := g.waitFor(reToken, 5*time.Second)[1]
	f := startWharf(t, t.TempDir(), env, roleArgs("functions")...)
	fGW := f.waitFor(reRoleHTTP, 30*time.Second)[1]
	fInternal := f.waitFor(reRoleInternal, 5*time.Second)[1]
	j := startWharf(t, t.TempDir(), env, roleArgs("judge")...)
	jInternal := j.waitFor(reRoleInternal, 30*time.Second)[1]

	list := func() map[string]nodes.Record {
		t.Helper()
		r := call(t, "GET", gw+"/api/v1/nodes", tok, nil)
		if r.status != 200 {
			t.Fatalf("GET /api/v1/nodes: %d %s", r.status, r.raw)
		}
		var resp admin.NodesResponse
		if err := json.Unmarshal([]byte(r.raw), &resp); err != nil {
			t.Fatal(err)
		}
		byInternal := map[string]nodes.Record{}
		for _, n := range resp.Nodes {
			byInternal[n.Internal] = n
		}
		return byInternal
	}
	// Each process writes its record before it prints that it runs.
	all := list()
	want := map[string]struct {
		roles   []string
		gateway string
	}{gInternal: {[]string{"gateway"}, gw}, fInternal: {[]string{"functions"}, fGW}, jInternal: {[]string{"judge"}, ""}}
	if len(all) != len(want) {
		t.Fatalf("nodes %+v, want %d", all, len(want))
	}
	for internal, w := range want {
		n, ok := all[internal]
		if !ok || !slices.Equal(n.Roles, w.roles) || n.Command != w.roles[0] || n.Gateway != w.gateway || n.Version != "dev" || n.StartedAt.IsZero() || n.Seen.IsZero() {
			t.Errorf("node at %s: %+v, want roles %v gateway %q", internal, n, w.roles, w.gateway)
		}
	}
	// wharf status through the functions node (the gateway role serves
	// no apps API) shows the same nodes.
	out, errOut, code := runWharf(t, t.TempDir(), []string{"WHARF_SERVER=" + fGW, "WHARF_TOKEN=" + tok}, "status")
	if code != 0 {
		t.Fatalf("status: %d %s", code, errOut)
	}
	wantLines(t, "status", out, "Nodes:", "gateway ", "functions ", "judge ", gw, fGW)

	// A failing readiness check shows by name on the next heartbeat.
	minio.Stop()
	testenv.Eventually(t, 20*time.Second, func() error {
		if n := list()[fInternal]; n.Ready || !slices.Equal(n.Failing, []string{"minio"}) {
			return fmt.Errorf("functions node with MinIO down: %+v", n)
		}
		return nil
	})
	out, _, _ = runWharf(t, t.TempDir(), []string{"WHARF_SERVER=" + fGW, "WHARF_TOKEN=" + tok}, "status")
	wantLines(t, "status with MinIO down", out, "no: minio")

	// SIGTERM: the record is deleted on the way out, gone at once.
	if code := f.stop(10 * time.Second); code != 0 {
		t.Fatalf("functions exit %d: %s", code, f.errOut())
	}
	if all := list(); len(all) != 2 || all[fInternal].ID != "" {
		t.Fatalf("after SIGTERM of functions: %+v", all)
	}

	// SIGKILL: nothing deletes the record; it expires within the TTL.
	if err := j.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	j.wait(10 * time.Second)
	// (TTL plus a margin for a loaded machine; without expiry it would stay.)
	testenv.Eventually(t, nodes.DefaultTTL+5*time.Second, func() error {
		if all := list(); len(all) != 1 || all[gInternal].ID == "" {
			return fmt.Errorf("after SIGKILL of judge: %+v", all)
		}
		return nil
	})
	if code := g.stop(10 * time.Second); code != 0 {
		t.Fatalf("gateway exit %d: %s", code, g.errOut())
	}
}
