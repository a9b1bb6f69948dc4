package acl

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
)

func openRedis(t *testing.T, addr string) *redisstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := redisstore.Open(ctx, redisstore.Options{
		Addr: addr, Namespace: "acltest", OpTimeout: time.Second,
		WatchBlock: 200 * time.Millisecond, ReapInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestBanSyncAcrossNodes runs two "gateway nodes", each with its own Redis
// client and BanSet, and an operator client that bans and unbans.
func TestBanSyncAcrossNodes(t *testing.T) {
	r := testenv.StartRedis(t)
	m := newManager(t, openRedis(t, r.Addr))
	node1 := startSet(t, openRedis(t, r.Addr), BanSetOptions{})
	node2 := startSet(t, openRedis(t, r.Addr), BanSetOptions{})
	ctx := t.Context()

	if _, err := m.Ban(ctx, pfx("2001:db8:aa:bb::/64"), time.Hour, "abuse", "ops"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*BanSet{node1, node2} {
		testenv.Eventually(t, time.Second, bannedErr(n, "2001:db8:aa:bb:1:2:3:4", true))
	}
	if b, _ := node2.Banned(ip("2001:db8:aa:bb::9")); b.Reason != "abuse" || b.CreatedBy != "ops" {
		t.Fatalf("node2 ban %+v", b)
	}

	if err := m.Unban(ctx, pfx("2001:db8:aa:bb::/64")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*BanSet{node1, node2} {
		testenv.Eventually(t, time.Second, bannedErr(n, "2001:db8:aa:bb::1", false))
	}

	if _, err := m.Ban(ctx, pfx("198.51.100.0/24"), 2*time.Second, "short", "ops"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, bannedErr(node2, "198.51.100.1", true))
	list, err := m.List(ctx)
	if err != nil || len(list) != 1 || list[0].Reason != "short" || list[0].ExpiresAt.IsZero() {
		t.Fatalf("list = %+v, %v", list, err)
	}
	for _, n := range []*BanSet{node1, node2} {
		testenv.Eventually(t, 8*time.Second, func() error {
			if n.Len() != 0 {
				return fmt.Errorf("Len = %d after expiry", n.Len())
			}
			return nil
		})
	}
}

// TestBanSetSurvivesRedisRestart restarts redis-server under a running
// BanSet and checks it catches up on bans written after the restart.
func TestBanSetSurvivesRedisRestart(t *testing.T) {
	r := testenv.StartRedis(t)
	m := newManager(t, openRedis(t, r.Addr))
	node := startSet(t, openRedis(t, r.Addr), BanSetOptions{})
	ctx := t.Context()
	if _, err := m.Ban(ctx, pfx("192.0.2.1/32"), time.Hour, "before", "ops"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, time.Second, bannedErr(node, "192.0.2.1", true))

	r.Restart()

	// Writes may fail until the clients reconnect.
	testenv.Eventually(t, 15*time.Second, func() error {
		_, err := m.Ban(ctx, pfx("192.0.2.2/32"), time.Hour, "after", "ops")
		return err
	})
	testenv.Eventually(t, 15*time.Second, bannedErr(node, "192.0.2.2", true))
	if _, ok := node.Banned(ip("192.0.2.1")); !ok {
		t.Fatal("ban from before the restart lost")
	}
	if err := m.Unban(ctx, pfx("192.0.2.1/32")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, bannedErr(node, "192.0.2.1", false))
}
