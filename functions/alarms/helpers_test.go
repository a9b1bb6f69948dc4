package alarms_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// server is the alarms function behind a real gateway, Mux, buntdb store
// and nsqd.
type server struct {
	addr   string
	nsqd   *testenv.NSQD
	st     store.Store
	tokens map[string]string // admin, ingest, agent, team (shop), other (bank), multi (shop and bank)
}

func newServer(t *testing.T, edit ...func(*alarms.Options)) *server {
	t.Helper()
	return newServerOn(t, "buntdb", edit...)
}

// engines are the store engines the function runs on: buntdb (serve)
// and Redis (the multi-node roles).
var engines = []string{"buntdb", "redis"}

// openStore opens a store of engine for the test.
func openStore(t *testing.T, engine string) store.Store {
	t.Helper()
	o := redisstore.Options{Namespace: "alarms"}
	switch engine {
	case "redis":
		o.Addr = testenv.StartRedis(t).Addr
	case "redis-short-log": // keeps few changes: old revisions are compacted
		o.Addr, o.LogRetention = testenv.StartRedis(t).Addr, 10
	}
	return fntest.OpenStore(t, o)
}

// newServerOn is newServer with the store of engine.
func newServerOn(t *testing.T, engine string, edit ...func(*alarms.Options)) *server {
	t.Helper()
	nsqd := testenv.StartNSQD(t)
	st := openStore(t, engine)
	svc := auth.NewService(st)
	s := &server{nsqd: nsqd, st: st, tokens: fntest.Tokens(t, svc)}
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}, PublishTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })
	o := alarms.Options{Store: st, Publisher: prod, Version: "test"}
	for _, e := range edit {
		e(&o)
	}
	fn, err := alarms.New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	s.addr = gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	return s
}

func (s *server) do(t *testing.T, method, path, who, body string) gatewaytest.Response {
	t.Helper()
	hdr := map[string]string{}
	if who != "" {
		hdr["Authorization"] = "Bearer " + s.tokens[who]
	}
	if body != "" {
		hdr["Content-Type"] = "application/json"
	}
	r := gatewaytest.Do(t, s.addr, method, path, hdr, body)
	gatewaytest.NoSecrets(t, r)
	return r
}

// putCase stores a case as the notify runner does (case and team index).
func (s *server) putCase(t *testing.T, c alarm.Case) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.st.Put(ctx, wire.CaseKey(c.ID), b, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if team := c.Labels["team"]; team != "" {
		if _, err := s.st.Put(ctx, wire.TeamCaseKey(team, c.ID), []byte(`""`), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// firing is a firing posted-alert case of team.
func firing(id, team, name string) alarm.Case {
	now := time.Now().UTC()
	ls := map[string]string{"alertname": name, "priority": "1"}
	if team != "" {
		ls["team"] = team
	}
	return alarm.Case{ID: id, Source: alarm.SourceAlertmanager, Fingerprint: "0123456789abcdef", Labels: ls, State: alarm.Opened,
		Step: 1, Priority: 1, StepKey: "firing.1", StartsAt: now.Add(-time.Minute), UpdatedAt: now, ExpiresAt: now.Add(time.Hour)}
}

func decode[T any](t *testing.T, r gatewaytest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %q", r.Status, err, r.Body)
	}
	return v
}

// testCases is its arguments as a slice.
func testCases(cs ...alarm.Case) []alarm.Case { return cs }
