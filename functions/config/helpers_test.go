package config_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/redisstore"
)

// server is the config function behind a real gateway and Mux over a real
// store (buntdb, or Redis shared by several servers).
type server struct {
	addr   string
	st     store.Store
	fn     *config.Function
	tokens map[string]string // admin, ingest, agent, team (shop), other (bank), multi (shop and bank)
}

// openStore opens a store of engine ("buntdb" or a Redis address).
func openStore(t testing.TB, redisAddr string) store.Store {
	t.Helper()
	return fntest.OpenStore(t, redisstore.Options{Addr: redisAddr, Namespace: "cfg"})
}

func newServer(t testing.TB, edit ...func(*config.Options)) *server {
	t.Helper()
	st := openStore(t, "")
	return newServerOn(t, st, mintTokens(t, st), edit...)
}

// mintTokens creates the test's tokens in st.
func mintTokens(t testing.TB, st store.Store) map[string]string {
	t.Helper()
	return fntest.Tokens(t, auth.NewService(st))
}

// newServerOn runs the function over st (tokens already in it).
func newServerOn(t testing.TB, st store.Store, tokens map[string]string, edit ...func(*config.Options)) *server {
	t.Helper()
	svc := auth.NewService(st)
	o := config.Options{Store: st, Tokens: svc, PollTimeout: 30 * time.Second}
	for _, e := range edit {
		e(&o)
	}
	fn, err := config.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fn.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-fn.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("config function did not load the heads")
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mux.Close)
	addr := gatewaytest.Start(t, gateway.Options{}, mux).Addr().String()
	return &server{addr: addr, st: st, fn: fn, tokens: tokens}
}

// do sends a request as who ("" for no token) with a JSON body.
func (s *server) do(t testing.TB, method, path, who, body string) gatewaytest.Response {
	t.Helper()
	hdr := map[string]string{}
	if who != "" {
		hdr["Authorization"] = "Bearer " + s.tokens[who]
	}
	return gatewaytest.Do(t, s.addr, method, path, hdr, body)
}

// must is do that fails the test unless the status is want.
func (s *server) must(t testing.TB, want int, method, path, who, body string) gatewaytest.Response {
	t.Helper()
	r := s.do(t, method, path, who, body)
	if r.Status != want {
		t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, r.Status, r.Body, want)
	}
	return r
}

func decode[T any](t testing.TB, r gatewaytest.Response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %q", r.Status, err, r.Body)
	}
	return v
}

// nsURL is the team API path of a namespace of app shop.
func nsURL(cluster, ns string) string {
	return "/api/v1/config/apps/shop/clusters/" + cluster + "/namespaces/" + ns
}

// setItems sets items in the draft of shop's namespace as the team.
func (s *server) setItems(t testing.TB, cluster, ns string, kv ...string) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		b, _ := json.Marshal(map[string]string{"value": kv[i+1]})
		s.must(t, 200, "PUT", nsURL(cluster, ns)+"/items/"+url.PathEscape(kv[i]), "team", string(b))
	}
}

// publish publishes shop's namespace as the team.
func (s *server) publish(t testing.TB, cluster, ns, comment string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"comment": comment})
	return decode[map[string]any](t, s.must(t, 201, "POST", nsURL(cluster, ns)+"/releases", "team", string(b)))
}

// poll is one Apollo notification request's query.
func pollQuery(app, cluster string, ids map[string]int64) string {
	var parts []string
	for ns, id := range ids {
		parts = append(parts, `{"namespaceName":`+strconv.Quote(ns)+`,"notificationId":`+strconv.FormatInt(id, 10)+`}`)
	}
	q := url.Values{"appId": {app}, "cluster": {cluster}, "notifications": {"[" + strings.Join(parts, ",") + "]"}}
	return "/notifications/v2?" + q.Encode()
}
