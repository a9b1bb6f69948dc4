package config_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

// counter is the value of the metric line name in set (0 when absent).
func counter(t testing.TB, set *metrics.Set, name string) float64 {
	t.Helper()
	var b bytes.Buffer
	set.WritePrometheus(&b)
	for _, l := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", l, err)
			}
			return f
		}
	}
	return 0
}

// tokenID is the id in a plaintext token (wharf_<id>_<secret>).
func tokenID(tok string) string { return strings.Split(tok, "_")[1] }

// TestOutageForgetsRevokedTokens: what a node kept of a token's checks for
// a store outage never outlives the token — a 401 seen, a revoke through
// the node's token service, a revoke on another node (seen on the watch),
// the token's expiry passing during the outage; nor does a check of one
// app let the token read another.
func TestOutageForgetsRevokedTokens(t *testing.T) {
	r := testenv.StartRedis(t)
	st := openStore(t, r.Addr)
	tokens := mintTokens(t, st)
	ctx := context.Background()
	elsewhere := auth.NewService(openStore(t, r.Addr)) // another node's token service
	local := auth.NewService(st)                       // this node's (its revoke hook)
	mint := func(name string, scopes ...string) string {
		_, tok, err := elsewhere.Create(ctx, auth.CreateRequest{Name: name, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = tok
		return tok
	}
	for _, n := range []string{"seen401", "hooked", "watched", "expiring"} {
		mint(n, auth.TeamScope("shop"))
	}
	// expiring's record expires in 10 minutes (a Redis TTL).
	key := auth.TokenKeyPrefix + tokenID(tokens["expiring"])
	e, err := st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, key, e.Value, store.PutOptions{TTL: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	set := metrics.NewSet()
	var skew atomic.Int64
	a := newServerOn(t, st, tokens, func(o *config.Options) {
		o.Tokens = local
		o.Metrics = set
		o.StaleCredentials = time.Hour
		o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	a.setItems(t, "default", "application", "v", "1")
	a.publish(t, "default", "application", "one")
	const cfgPath = "/configs/shop/default/application"
	for _, n := range []string{"seen401", "hooked", "watched", "expiring", "team"} {
		a.must(t, 200, "GET", cfgPath, n, "")
	}
	a.must(t, 404, "GET", "/configs/bank/default/application", "other", "")
	testenv.Eventually(t, 10*time.Second, func() error {
		if res := a.do(t, "GET", "/configs/bank/default/application", "other", ""); res.Status != 404 {
			return fmt.Errorf("bank read as other: %d %s", res.Status, res.Body)
		}
		return nil
	})

	// seen401: revoked elsewhere, its next read on a is a 401.
	if err := elsewhere.Revoke(ctx, tokenID(tokens["seen401"])); err != nil {
		t.Fatal(err)
	}
	a.must(t, 401, "GET", cfgPath, "seen401", "")
	// hooked: revoked through a's own token service.
	if err := local.Revoke(ctx, tokenID(tokens["hooked"])); err != nil {
		t.Fatal(err)
	}
	// watched: revoked elsewhere, never read again before the outage.
	before := counter(t, set, `wharf_config_outage_cache_updates_total{what="token"}`)
	if err := elsewhere.Revoke(ctx, tokenID(tokens["watched"])); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := counter(t, set, `wharf_config_outage_cache_updates_total{what="token"}`); got <= before {
			return fmt.Errorf("the token watch has not seen the revoke yet")
		}
		return nil
	})

	r.Kill()
	// A token a checked still reads (the outage cache works) ...
	a.must(t, 200, "GET", cfgPath, "team", "")
	a.must(t, 200, "GET", cfgPath, "expiring", "")
	// ... a revoked one never does.
	for _, n := range []string{"seen401", "hooked", "watched"} {
		if res := a.do(t, "GET", cfgPath, n, ""); res.Status != 503 && res.Status != 401 {
			t.Fatalf("%s revoked before the outage, Redis down: %d %s", n, res.Status, res.Body)
		}
	}
	// A token checked only for bank does not read shop.
	if res := a.do(t, "GET", cfgPath, "other", ""); res.Status != 503 {
		t.Fatalf("a token checked for bank reads shop, Redis down: %d %s", res.Status, res.Body)
	}
	// expiring's record expires during the outage: it stops reading.
	skew.Store(int64(20 * time.Minute))
	if res := a.do(t, "GET", cfgPath, "expiring", ""); res.Status != 503 {
		t.Fatalf("a token whose record expired during the outage: %d %s", res.Status, res.Body)
	}
	a.must(t, 200, "GET", cfgPath, "team", "")
}

// TestOutageKeepsAccessKeysCurrent: an access key disabled or deleted on
// another node stops signing reads on this one during a later outage,
// with no signed read on this node in between (the key watch).
func TestOutageKeepsAccessKeysCurrent(t *testing.T) {
	r := testenv.StartRedis(t)
	st := openStore(t, r.Addr)
	tokens := mintTokens(t, st)
	set := metrics.NewSet()
	var skew atomic.Int64
	a := newServerOn(t, st, tokens, func(o *config.Options) {
		o.Metrics = set
		o.StaleCredentials = 5 * time.Minute
		o.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	b := newServerOn(t, openStore(t, r.Addr), tokens)
	a.setItems(t, "default", "application", "v", "1")
	a.publish(t, "default", "application", "one")
	const cfgPath = "/configs/shop/default/application"
	keys := make([]config.AccessKey, 3)
	for i := range keys {
		keys[i] = decode[config.AccessKey](t, b.must(t, 201, "POST", "/api/v1/config/apps/shop/accesskeys", "team", ""))
	}
	signed := func(k config.AccessKey) int {
		at := time.Now().Add(time.Duration(skew.Load()))
		return gatewaytest.Do(t, a.addr, "GET", cfgPath, sign("shop", k.Secret, cfgPath, at), "").Status
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for _, k := range keys {
			if s := signed(k); s != 200 {
				return fmt.Errorf("signed read with %s: %d", k.ID, s)
			}
		}
		return nil
	})
	before := counter(t, set, `wharf_config_outage_cache_updates_total{what="accesskeys"}`)
	b.must(t, 200, "PUT", "/api/v1/config/apps/shop/accesskeys/"+keys[1].ID, "team", `{"enabled":false}`)
	b.must(t, 204, "DELETE", "/api/v1/config/apps/shop/accesskeys/"+keys[2].ID, "team", "")
	testenv.Eventually(t, 10*time.Second, func() error {
		if got := counter(t, set, `wharf_config_outage_cache_updates_total{what="accesskeys"}`); got < before+2 {
			return fmt.Errorf("the key watch has seen %v of 2 changes", got-before)
		}
		return nil
	})
	r.Kill()
	if s := signed(keys[0]); s != 200 {
		t.Fatalf("an enabled key, Redis down: %d", s)
	}
	for _, k := range keys[1:] {
		if s := signed(k); s != 401 && s != 503 {
			t.Fatalf("key %s disabled or deleted before the outage, Redis down: %d", k.ID, s)
		}
	}
	// The backstop: a key list last read more than StaleCredentials ago
	// is not used.
	skew.Store(int64(6 * time.Minute))
	if s := signed(keys[0]); s != 503 {
		t.Fatalf("an enabled key, its list read more than StaleCredentials ago, Redis down: %d", s)
	}
}

// TestOutageCacheNotFlushedByRandomNames: a client reading hundreds of
// namespaces that do not exist, and signing reads of apps that do not
// exist, does not push what the node keeps for an outage out: the real
// namespace still reads once Redis is down.
func TestOutageCacheNotFlushedByRandomNames(t *testing.T) {
	r := testenv.StartRedis(t)
	st := openStore(t, r.Addr)
	a := newServerOn(t, st, mintTokens(t, st), func(o *config.Options) { o.OutageEntries = 20 })
	a.setItems(t, "default", "application", "v", "1")
	a.publish(t, "default", "application", "one")
	const cfgPath = "/configs/shop/default/application"
	a.must(t, 200, "GET", cfgPath, "team", "")
	for i := range 100 {
		a.must(t, 404, "GET", fmt.Sprintf("/configs/shop/default/random%d", i), "team", "")
		p := fmt.Sprintf("/configs/app%d/default/application", i)
		if res := gatewaytest.Do(t, a.addr, "GET", p, sign(fmt.Sprintf("app%d", i), "secret", p, time.Now()), ""); res.Status != 401 {
			t.Fatalf("a signed read of an app without keys: %d %s", res.Status, res.Body)
		}
	}
	r.Kill()
	if res := a.do(t, "GET", cfgPath, "team", ""); res.Status != 200 {
		t.Fatalf("the real namespace after random reads, Redis down: %d %s", res.Status, res.Body)
	}
}
