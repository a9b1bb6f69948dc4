package config_test

import (
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/config"
)

// TestPublicNamespaceAndOverride: shop's public namespace is readable by
// every app under its name; bank's override of it wins key by key; a
// publish of the public namespace answers bank's held poll.
func TestPublicNamespaceAndOverride(t *testing.T) {
	s := newServer(t)
	s.must(t, 201, "POST", "/api/v1/config/apps/shop/namespaces", "team", `{"name":"common","public":true}`)
	s.setItems(t, "default", "common", "region", "eu", "pool", "10")
	s.publish(t, "default", "common", "shared")
	// A second app may not take the public name.
	if r := s.do(t, "POST", "/api/v1/config/apps/bank/namespaces", "other", `{"name":"common","public":true}`); r.Status != 409 {
		t.Fatalf("a second public common: %d %s", r.Status, r.Body)
	}
	// bank reads shop's values before it overrides anything.
	c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/bank/default/common", "other", ""))
	if c.Configurations["region"] != "eu" || c.AppID != "bank" {
		t.Fatalf("bank reads the public namespace: %+v", c)
	}
	s.must(t, 201, "POST", "/api/v1/config/apps/bank/namespaces", "other", `{"name":"common","override":"shop"}`)
	s.must(t, 200, "PUT", "/api/v1/config/apps/bank/clusters/default/namespaces/common/items/pool", "other", `{"value":"50"}`)
	s.must(t, 201, "POST", "/api/v1/config/apps/bank/clusters/default/namespaces/common/releases", "other", `{}`)
	c = decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/bank/default/common", "other", ""))
	if c.Configurations["region"] != "eu" || c.Configurations["pool"] != "50" || !strings.Contains(c.ReleaseKey, "+") {
		t.Fatalf("override: %+v", c)
	}
	// shop itself still reads its own values.
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/shop/default/common", "team", "")); c.Configurations["pool"] != "10" {
		t.Fatalf("shop: %+v", c)
	}
	// bank's poll is answered by shop's publish.
	held := s.startPoll(t, pollQuery("bank", "default", map[string]int64{"common": settledID(t, s, "other", "bank", "common")}), bearer(s, "other"))
	waitHeld(t, s, 1)
	s.setItems(t, "default", "common", "region", "us")
	s.publish(t, "default", "common", "moved")
	if a := <-held; a.status != 200 || a.body[0].Messages.Details["shop+default+common"] == 0 {
		t.Fatalf("bank's poll after shop's publish: %+v", a)
	}
	if c := decode[config.ApolloConfig](t, s.must(t, 200, "GET", "/configs/bank/default/common", "other", "")); c.Configurations["region"] != "us" || c.Configurations["pool"] != "50" {
		t.Fatalf("bank after the publish: %+v", c)
	}
}
