// Package fntest is what the tests of the function packages share: a
// real store of either engine, the standard set of tokens and a consumer
// of an NSQ topic. It is for
// tests only.
package fntest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nsqio/go-nsq"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/redisstore"
)

// OpenStore opens a store for t and closes it when t ends: Redis with o
// when o.Addr is set, else buntdb in memory.
func OpenStore(t testing.TB, o redisstore.Options) store.Store {
	t.Helper()
	var st store.Store
	var err error
	if o.Addr != "" {
		st, err = redisstore.Open(context.Background(), o)
	} else {
		st, err = buntstore.Open(buntstore.Options{Path: ":memory:"})
	}
	if err != nil {
		t.Fatalf("cannot open the store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Tokens bootstraps the admin token through svc and creates one token of
// each kind a route's authorization test needs. The map's keys: admin,
// ingest, agent, team (team shop), other (team bank), multi (shop and
// bank).
func Tokens(t testing.TB, svc *auth.Service) map[string]string {
	t.Helper()
	ctx := context.Background()
	admin, err := svc.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatalf("cannot bootstrap the admin token: %v", err)
	}
	toks := map[string]string{"admin": admin}
	for name, scopes := range map[string][]string{"ingest": {auth.ScopeIngest}, "agent": {auth.ScopeAgent},
		"team": {auth.TeamScope("shop")}, "other": {auth.TeamScope("bank")}, "multi": {auth.TeamScope("shop"), auth.TeamScope("bank")}} {
		_, tok, err := svc.Create(ctx, auth.CreateRequest{Name: name, Scopes: scopes})
		if err != nil {
			t.Fatalf("cannot create token %s: %v", name, err)
		}
		toks[name] = tok
	}
	return toks
}

// Consume returns the bodies published on topic of the nsqd at nsqdAddr
// from now on (channel "test"); the consumer stops when t ends.
func Consume(t testing.TB, nsqdAddr, topic string) <-chan []byte {
	t.Helper()
	c, err := nsq.NewConsumer(topic, "test", nsq.NewConfig())
	if err != nil {
		t.Fatalf("cannot consume %s: %v", topic, err)
	}
	c.SetLoggerLevel(nsq.LogLevelError)
	out := make(chan []byte, 100)
	c.AddHandler(nsq.HandlerFunc(func(m *nsq.Message) error {
		out <- append([]byte(nil), m.Body...)
		return nil
	}))
	if err := c.ConnectToNSQD(nsqdAddr); err != nil {
		t.Fatalf("cannot consume %s: %v", topic, err)
	}
	t.Cleanup(c.Stop)
	return out
}
