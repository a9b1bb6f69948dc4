package config_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestPublicNameRaceTwoNodes: shop and bank create public namespaces whose
// names differ only in case on two nodes at once; exactly one wins. The
// same for two namespaces of one app.
func TestPublicNameRaceTwoNodes(t *testing.T) {
	r := testenv.StartRedis(t)
	st := openStore(t, r.Addr)
	tokens := mintTokens(t, st)
	a := newServerOn(t, st, tokens)
	b := newServerOn(t, openStore(t, r.Addr), tokens)
	race := func(pa, pb, who1, who2, body1, body2 string) (int, int) {
		var s1, s2 int
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); s1 = a.do(t, "POST", pa, who1, body1).Status }()
		go func() { defer wg.Done(); s2 = b.do(t, "POST", pb, who2, body2).Status }()
		wg.Wait()
		return s1, s2
	}
	for i := range 10 {
		lower, upper := fmt.Sprintf("common%d", i), fmt.Sprintf("Common%d", i)
		s1, s2 := race("/api/v1/config/apps/shop/namespaces", "/api/v1/config/apps/bank/namespaces", "team", "other",
			`{"name":"`+lower+`","public":true}`, `{"name":"`+upper+`","public":true}`)
		if !(s1 == 201 && s2 == 409 || s1 == 409 && s2 == 201) {
			t.Fatalf("public %s (shop, node a) and %s (bank, node b) at once: %d and %d, want one 201 and one 409", lower, upper, s1, s2)
		}
		lower, upper = fmt.Sprintf("own%d", i), fmt.Sprintf("OWN%d", i)
		s1, s2 = race("/api/v1/config/apps/shop/namespaces", "/api/v1/config/apps/shop/namespaces", "team", "team",
			`{"name":"`+lower+`"}`, `{"name":"`+upper+`"}`)
		if !(s1 == 201 && s2 == 409 || s1 == 409 && s2 == 201) {
			t.Fatalf("shop's %s (node a) and %s (node b) at once: %d and %d, want one 201 and one 409", lower, upper, s1, s2)
		}
	}
}

// TestPublicNameExactMatch: with public namespaces "common" (shop) and
// "Common" (bank) both present — data from before public names were
// claimed in any case — an app asking for one by its exact name reads
// that one, never the other team's; a name matching both only in case is
// refused.
func TestPublicNameExactMatch(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.must(t, 201, "POST", "/api/v1/config/apps/shop/namespaces", "team", `{"name":"common","public":true}`)
	s.setItems(t, "default", "common", "owner", "shop")
	s.publish(t, "default", "common", "shop's")
	// bank's "Common" made public as before: its head says so and its
	// claim is under its exact spelling.
	s.must(t, 201, "POST", "/api/v1/config/apps/bank/namespaces", "other", `{"name":"Common"}`)
	s.must(t, 200, "PUT", "/api/v1/config/apps/bank/clusters/default/namespaces/Common/items/owner", "other", `{"value":"bank"}`)
	s.must(t, 201, "POST", "/api/v1/config/apps/bank/clusters/default/namespaces/Common/releases", "other", `{}`)
	e, err := s.st.Get(ctx, "config/head/bank/default/Common")
	if err != nil {
		t.Fatal(err)
	}
	var head map[string]any
	if err := json.Unmarshal(e.Value, &head); err != nil {
		t.Fatal(err)
	}
	head["public"] = true
	b, _ := json.Marshal(head)
	if _, err := s.st.Put(ctx, "config/public/Common", []byte(`"bank"`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.Put(ctx, "config/head/bank/default/Common", b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s.must(t, 201, "POST", "/api/v1/config/apps/acme/namespaces", "admin", `{"name":"application"}`)
	read := func(ns string) (int, string) {
		res := s.do(t, "GET", "/configs/acme/default/"+ns, "admin", "")
		if res.Status != 200 {
			return res.Status, res.String()
		}
		return 200, decode[config.ApolloConfig](t, res).Configurations["owner"]
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for ns, want := range map[string]string{"common": "shop", "Common": "bank"} {
			if st, got := read(ns); st != 200 || got != want {
				return fmt.Errorf("acme reads %s: %d %s, want %s's", ns, st, got, want)
			}
		}
		return nil
	})
	if st, body := read("COMMON"); st != 409 {
		t.Fatalf("acme reads COMMON with common and Common public: %d %s, want 409", st, body)
	}
	// A third spelling cannot be created public.
	if res := s.do(t, "POST", "/api/v1/config/apps/acme/namespaces", "admin", `{"name":"COMMON","public":true}`); res.Status != 409 {
		t.Fatalf("public COMMON beside common and Common: %d %s", res.Status, res.Body)
	}
}
