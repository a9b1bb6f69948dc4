package deploy_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/artifacts/blob/diskblob"
	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/acl"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/tenancy"
	"github.com/wharfhq/wharf/internal/testenv"
)

// testLogger discards logs unless WHARF_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("WHARF_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// env is the deploy and artifacts functions behind a real gateway, over a
// real store (Redis or buntdb) and a real nsqd.
type env struct {
	t     *testing.T
	ctx   context.Context
	url   string
	st    store.Store
	nsqd  *testenv.NSQD
	prod  *bus.Producer
	fn    *deploy.Function // the instance behind the gateway
	set   *metrics.Set     // e.fn's metrics
	admin string
	tok   map[string]string // shop (team:shop), other (team:other), agent, agent2 (agent), ingest
}

type envOptions struct {
	redis bool // Redis store; else buntdb in memory
	run   bool // run fn (driver and events consumer)
	opts  func(*deploy.Options)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	if o.redis {
		r := testenv.StartRedis(t)
		rs, err := redisstore.Open(ctx, redisstore.Options{Addr: r.Addr})
		if err != nil {
			t.Fatal(err)
		}
		st = rs
	} else {
		bs, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
		if err != nil {
			t.Fatal(err)
		}
		st = bs
	}
	t.Cleanup(func() { _ = st.Close() })
	nsqd := testenv.StartNSQD(t)
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prod.Close() })

	svc := auth.NewService(st)
	boot, err := svc.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	toks := map[string]string{}
	for name, scopes := range map[string][]string{"shop": {"team:shop"}, "other": {"team:other"}, "agent": {"agent"}, "agent2": {"agent"}, "ingest": {"ingest"}} {
		_, plain, err := svc.Create(ctx, auth.CreateRequest{Name: name, Scopes: scopes, CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = plain
	}
	be, err := diskblob.New(diskblob.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Close() })
	art, err := artifacts.New(artifacts.Options{Backend: be, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, st: st, nsqd: nsqd, prod: prod, admin: boot, tok: toks, set: metrics.NewSet()}
	e.fn = e.newFn(o.opts, e.set)
	// The gateway's admin API beside them, for the service registry that
	// agents write, as cmd/wharf wires it.
	bans, err := acl.NewBanManager(acl.BanManagerOptions{}, st)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := adminapi.New(adminapi.Options{Edge: edge.New(st, edge.Options{}), Bans: bans,
		Registry: registry.New(st, registry.Options{}), Hosts: tenancy.New(st, tenancy.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(svc, testLogger(t))
	for _, f := range []fnapi.Function{art, e.fn, gw} {
		if err := mux.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(mux.Close)
	g := gatewaytest.Start(t, gateway.Options{Edge: config.Edge{Routes: []config.RouteConfig{
		{Name: "api", Path: "/api/", Function: "api", MaxBody: 64 << 20},
	}}}, mux)
	e.url = "http://" + g.Addr().String()
	if o.run {
		e.run(e.fn)
	}
	return e
}

// newFn makes another deploy function over the env's store and nsqd.
func (e *env) newFn(edit func(*deploy.Options), set *metrics.Set) *deploy.Function {
	e.t.Helper()
	opts := deploy.Options{
		Store: e.st, Producer: e.prod, NSQDAddrs: []string{e.nsqd.Addr},
		Logger: testLogger(e.t), Metrics: set, Tick: 200 * time.Millisecond,
	}
	if edit != nil {
		edit(&opts)
	}
	fn, err := deploy.New(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return fn
}

// run runs fn until the test ends; the returned stop ends it earlier and
// waits for Run to return.
func (e *env) run(fn *deploy.Function) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(stop)
	return stop
}

// resp is an answer read to its end.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

func (e *env) do(method, path, token string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// want checks the status and that the body contains every msg.
func want(t *testing.T, r resp, status int, msgs ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("want %d, got %s", status, r)
	}
	for _, m := range msgs {
		if !strings.Contains(string(r.body), m) {
			t.Fatalf("want %q in the answer, got %s", m, r)
		}
	}
}

func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %q", r.status, err, r.body)
	}
	return v
}

// push uploads a small bundle of app as version.
func (e *env) push(app, version string) {
	e.t.Helper()
	want(e.t, e.do("PUT", "/api/v1/apps/"+app+"/artifacts/"+version, e.admin, e.bundle(app, version)), 201)
}

// bundle packs a small bundle of app whose server prints version.
func (e *env) bundle(app, version string) []byte {
	e.t.Helper()
	dir := e.t.TempDir()
	manifest := "app: " + app + "\nprocesses:\n  web: ./server --port $PORT\n"
	if err := os.WriteFile(filepath.Join(dir, "wharf.yaml"), []byte(manifest), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server"), []byte("#!/bin/sh\necho "+version+"\n"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(e.ctx, dir, &buf, bundle.PackOptions{}); err != nil {
		e.t.Fatal(err)
	}
	return buf.Bytes()
}

const base = "/api/v1/apps/shop/deploys"

// deploy posts a spec and returns the created deploy.
func (e *env) deploy(spec string) deploy.View {
	e.t.Helper()
	r := e.do("POST", base, e.admin, spec)
	want(e.t, r, 201)
	v := decode[deploy.View](e.t, r)
	if v.Record == nil || v.ID == "" || r.header.Get("Location") != base+"/"+v.ID {
		e.t.Fatalf("created: %s (Location %q)", r, r.header.Get("Location"))
	}
	return v
}

func (e *env) show(id string) deploy.View {
	e.t.Helper()
	r := e.do("GET", base+"/"+id, e.admin, nil)
	want(e.t, r, 200)
	return decode[deploy.View](e.t, r)
}

// waitState waits until the deploy is in state s.
func (e *env) waitState(id string, timeout time.Duration, s plan.State) deploy.View {
	e.t.Helper()
	var v deploy.View
	testenv.Eventually(e.t, timeout, func() error {
		rec, _, err := e.fn.Get(e.ctx, "shop", id)
		if err != nil {
			return err
		}
		if rec.State != s {
			return fmt.Errorf("deploy %s is %s (%s), want %s", id, rec.State, rec.Error, s)
		}
		return nil
	})
	v = e.show(id)
	return v
}

// live is the app's live versions (catalog.LiveKey).
func (e *env) live(app string) []string {
	e.t.Helper()
	en, err := e.st.Get(e.ctx, catalog.LiveKey(app))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var v struct{ Versions []string }
	if err := json.Unmarshal(en.Value, &v); err != nil {
		e.t.Fatal(err)
	}
	return v.Versions
}

func counter(set *metrics.Set, name string) uint64 {
	return set.GetOrCreateCounter("wharf_deploy_" + name).Get()
}

// taskKey returns the public task-signing key named id, as the API
// serves it to agents.
func (e *env) taskKey(id string) ed25519.PublicKey {
	e.t.Helper()
	r := e.do("GET", wire.TaskKeysPath, e.tok["agent"], nil)
	if r.status != 200 {
		e.t.Errorf("GET %s: %s", wire.TaskKeysPath, r)
		return nil
	}
	var keys wire.TaskKeys
	if err := json.Unmarshal(r.body, &keys); err != nil {
		e.t.Errorf("GET %s: %v", wire.TaskKeysPath, err)
		return nil
	}
	for _, k := range keys.Keys {
		if k.KeyID == id {
			return k.PublicKey
		}
	}
	return nil
}
