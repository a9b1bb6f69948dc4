package config_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestTwoNodesRedisOutage: two functions nodes share Redis; 1,000 clients
// hold polls on them. A publish on one node answers the polls on both.
// Redis killed: held polls stay held, and clients keep working from the
// nodes' last reads (stale.go) — /configs and /configfiles answer the last
// release, bearer tokens and Apollo signatures a node checked before are
// accepted, new polls are held; a token the node never checked, one whose
// check is older than StaleCredentials, and every write get a clean 503.
// After Redis returns, a publish answers every poll held through the
// outage — no update is lost.
func TestTwoNodesRedisOutage(t *testing.T) {
	r := testenv.StartRedis(t)
	st1 := openStore(t, r.Addr)
	tokens := mintTokens(t, st1)
	a := newServerOn(t, st1, tokens)
	var skew atomic.Int64 // node b's clock runs ahead by this much
	b := newServerOn(t, openStore(t, r.Addr), tokens, func(o *config.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		o.StaleCredentials = 5 * time.Minute
	})
	a.setItems(t, "default", "application", "v", "1")
	a.publish(t, "default", "application", "one")
	settledID(t, a, "team", "shop", "application")
	id := settledID(t, b, "team", "shop", "application")
	holdAll := func(n int) []<-chan pollAnswer {
		var out []<-chan pollAnswer
		for i := range n {
			s := a
			if i%2 == 1 {
				s = b
			}
			out = append(out, s.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": id}), bearer(s, "team")))
		}
		waitHeld(t, a, n/2)
		waitHeld(t, b, n/2)
		return out
	}
	answered := func(polls []<-chan pollAnswer) {
		t.Helper()
		before := id
		for i, p := range polls {
			ans := <-p
			if ans.err != nil || ans.status != 200 || ans.body[0].NotificationID <= before {
				t.Fatalf("poll %d: %+v", i, ans)
			}
			id = max(id, ans.body[0].NotificationID)
		}
	}
	polls := holdAll(1000)
	a.setItems(t, "default", "application", "v", "2")
	a.publish(t, "default", "application", "two")
	answered(polls)
	// b reads what a published, told by the notification it sent.
	if c := decode[config.ApolloConfig](t, b.must(t, 200, "GET", fmt.Sprintf("/configs/shop/default/application?messages=%%7B%%22details%%22%%3A%%7B%%22shop%%2Bdefault%%2Bapplication%%22%%3A%d%%7D%%7D", id), "team", "")); c.Configurations["v"] != "2" {
		t.Fatalf("b after the publish on a: %+v", c)
	}

	// What clients read before the outage: a token read and a signed one
	// on each node.
	k := decode[config.AccessKey](t, a.must(t, 201, "POST", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	k2 := decode[config.AccessKey](t, a.must(t, 201, "POST", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	const cfgPath = "/configs/shop/default/application"
	signedRead := func(s *server, secret string) error {
		if res := gatewaytest.Do(t, s.addr, "GET", cfgPath, sign("shop", secret, cfgPath, time.Now()), ""); res.Status != 200 {
			return fmt.Errorf("signed read: %d %s", res.Status, res.Body)
		}
		return nil
	}
	for _, s := range []*server{a, b} {
		s.must(t, 200, "GET", cfgPath, "team", "")
		testenv.Eventually(t, 10*time.Second, func() error { return signedRead(s, k2.Secret) })
	}
	// k2 is disabled before the outage: the nodes' last reads of the keys
	// must say so.
	a.must(t, 200, "PUT", "/api/v1/config/apps/shop/accesskeys/"+k2.ID, "team", `{"enabled":false}`)
	for _, s := range []*server{a, b} {
		testenv.Eventually(t, 10*time.Second, func() error {
			if signedRead(s, k2.Secret) == nil {
				return fmt.Errorf("k2 still works after it was disabled")
			}
			return signedRead(s, k.Secret)
		})
	}

	polls = holdAll(200)
	r.Kill()
	for name, s := range map[string]*server{"a": a, "b": b} {
		if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", cfgPath, "team", "")); c.Configurations["v"] != "2" {
			t.Fatalf("node %s: /configs with Redis down: %+v", name, c)
		}
		if err := signedRead(s, k.Secret); err != nil {
			t.Fatalf("node %s: with Redis down: %v", name, err)
		}
		if res := gatewaytest.Do(t, s.addr, "GET", cfgPath, sign("shop", k2.Secret, cfgPath, time.Now()), ""); res.Status != 401 {
			t.Fatalf("node %s: the key disabled before the outage, Redis down: %d %s", name, res.Status, res.Body)
		}
		if res := s.must(t, 200, "GET", "/configfiles/json/shop/default/application", "team", ""); !strings.Contains(res.String(), `"v":"2"`) {
			t.Fatalf("node %s: /configfiles with Redis down: %s", name, res.Body)
		}
		// Never checked on this node: a clean 503, not a guess.
		if res := s.do(t, "GET", cfgPath, "admin", ""); res.Status != 503 || !strings.Contains(res.String(), "store unavailable") {
			t.Fatalf("node %s: a token never checked, Redis down: %d %s", name, res.Status, res.Body)
		}
		// Writes: 503, nothing changed.
		if res := s.do(t, "PUT", nsURL("default", "application")+"/items/v", "team", `{"value":"lost"}`); res.Status != 503 || !strings.Contains(res.String(), "store unavailable") {
			t.Fatalf("node %s: a write with Redis down: %d %s", name, res.Status, res.Body)
		}
	}
	// New polls during the outage are held too.
	polls = append(polls, a.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": id}), bearer(a, "team")),
		b.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": id}), bearer(b, "team")))
	waitHeld(t, a, 101)
	waitHeld(t, b, 101)
	// Past StaleCredentials since its last check, the token is refused on b.
	skew.Store(int64(6 * time.Minute))
	if res := b.do(t, "GET", cfgPath, "team", ""); res.Status != 503 {
		t.Fatalf("a token checked more than StaleCredentials ago, Redis down: %d %s", res.Status, res.Body)
	}
	skew.Store(0)
	r.Start()
	// After Redis returns the nodes' watches resume; a publish reaches
	// every poll held through the outage.
	testenv.Eventually(t, 30*time.Second, func() error {
		if res := a.do(t, "PUT", nsURL("default", "application")+"/items/v", "team", `{"value":"3"}`); res.Status != 200 {
			return fmt.Errorf("set after restart: %d %s", res.Status, res.Body)
		}
		// The nodes' Redis clients reconnect one connection at a time: a
		// request may still meet a dead one and get a 503 (retried, as a
		// client does).
		if res := a.do(t, "POST", nsURL("default", "application")+"/releases", "team", `{"comment":"three"}`); res.Status != 201 {
			return fmt.Errorf("publish after restart: %d %s", res.Status, res.Body)
		}
		return nil
	})
	answered(polls)
	if c := decode[config.ApolloConfig](t, b.must(t, 200, "GET", "/configs/shop/default/application", "team", "")); c.Configurations["v"] != "3" {
		t.Fatalf("b after Redis returned: %+v", c)
	}
}
