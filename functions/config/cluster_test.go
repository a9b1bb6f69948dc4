package config_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestTwoNodesRedisOutage: two functions nodes share Redis; 1,000 clients
// hold polls on them. A publish on one node answers the polls on both.
// Redis killed: reads get clean 503s, held polls stay held (or end 304);
// after Redis returns, a publish answers every poll held through the
// outage — no update is lost.
func TestTwoNodesRedisOutage(t *testing.T) {
	r := testenv.StartRedis(t)
	st1 := openStore(t, r.Addr)
	tokens := mintTokens(t, st1)
	a := newServerOn(t, st1, tokens)
	b := newServerOn(t, openStore(t, r.Addr), tokens)
	a.setItems(t, "default", "application", "v", "1")
	a.publish(t, "default", "application", "one")
	first := <-b.startPoll(t, pollQuery("shop", "default", map[string]int64{"application": -1}), bearer(b, "team"))
	if first.status != 200 {
		t.Fatalf("first poll on b: %+v", first)
	}
	id := first.body[0].NotificationID
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

	polls = holdAll(200)
	r.Kill()
	for _, s := range []*server{a, b} {
		res := s.do(t, "GET", "/configs/shop/default/application", "team", "")
		if res.Status != 503 {
			t.Fatalf("/configs with Redis down: %d %s", res.Status, res.Body)
		}
	}
	r.Start()
	// After Redis returns the nodes' watches resume; a publish reaches
	// every poll held through the outage.
	testenv.Eventually(t, 30*time.Second, func() error {
		if res := a.do(t, "PUT", nsURL("default", "application")+"/items/v", "team", `{"value":"3"}`); res.Status != 200 {
			return fmt.Errorf("set after restart: %d %s", res.Status, res.Body)
		}
		return nil
	})
	a.publish(t, "default", "application", "three")
	answered(polls)
	if c := decode[config.ApolloConfig](t, b.must(t, 200, "GET", "/configs/shop/default/application", "team", "")); c.Configurations["v"] != "3" {
		t.Fatalf("b after Redis returned: %+v", c)
	}
}
