package admin_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/internal/store"
)

// TestNodesAuthorization: only admins list the nodes.
func TestNodesAuthorization(t *testing.T) {
	s := newServer(t)
	shop := s.create(t, `{"team":"shop"}`)
	agent := s.create(t, `{"name":"agent1","scopes":["agent"]}`)
	ingest := s.create(t, `{"name":"ingest1","scopes":["ingest"]}`)
	wantError(t, s.do(t, "GET", "/api/v1/nodes", "", ""), 401, "")
	wantError(t, s.do(t, "GET", "/api/v1/nodes", "wharf_0000000000000000_00", ""), 401, "")
	for name, tok := range map[string]string{"team": shop.Token, "agent": agent.Token, "ingest": ingest.Token} {
		t.Run(name, func(t *testing.T) {
			wantError(t, s.do(t, "GET", "/api/v1/nodes", tok, ""), 403, "lacks scope")
		})
	}
	r := s.do(t, "GET", "/api/v1/nodes", s.admin, "")
	if r.status != 200 {
		t.Fatalf("admin: %d %s", r.status, r.body)
	}
	if got := decode[admin.NodesResponse](t, r); got.Nodes == nil || len(got.Nodes) != 0 {
		t.Fatalf("no node announced yet: want an empty list, got %s", r.body)
	}
}

// TestNodesListsAnnouncedNodes: a running heartbeat is listed with its
// roles and readiness, a bad record in the store is left out, a stopped
// heartbeat leaves the list.
func TestNodesListsAnnouncedNodes(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	started := time.Now().UTC().Truncate(time.Second)
	hb, err := nodes.New(nodes.Options{
		Store: s.st, Interval: time.Minute, TTL: time.Hour,
		Record: nodes.Record{
			ID: "web1@127.0.0.1:9090", Roles: []string{"gateway"}, Command: "gateway", Version: "v1.2.3",
			StartedAt: started, Internal: "http://127.0.0.1:9090", Gateway: "http://127.0.0.1:8080",
		},
		Failing: func(context.Context) []string { return []string{"nsqd"} },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.Put(ctx, "nodes/junk", []byte("{"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	r := s.do(t, "GET", "/api/v1/nodes", s.admin, "")
	got := decode[admin.NodesResponse](t, r)
	if r.status != 200 || len(got.Nodes) != 1 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	n := got.Nodes[0]
	if n.ID != "web1@127.0.0.1:9090" || !slices.Equal(n.Roles, []string{"gateway"}) || n.Version != "v1.2.3" || !n.StartedAt.Equal(started) ||
		n.Ready || !slices.Equal(n.Failing, []string{"nsqd"}) || n.Gateway != "http://127.0.0.1:8080" || n.Seen.IsZero() {
		t.Fatalf("node %+v", n)
	}
	if err := hb.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := decode[admin.NodesResponse](t, s.do(t, "GET", "/api/v1/nodes", s.admin, "")); len(got.Nodes) != 0 {
		t.Fatalf("after stop: %+v", got)
	}
}
