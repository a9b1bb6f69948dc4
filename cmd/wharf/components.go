package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/diskblob"
	"github.com/wharfhq/wharf/artifacts/blob/s3blob"
	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/egress"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/ops"
	"github.com/wharfhq/wharf/internal/promexp"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// wiring is what the components of one process (serve or a role) hand to
// each other while they start: each start fills in its part.
type wiring struct {
	*base
	role role

	st       store.Store
	nsqd     *bus.Embedded // serve only
	producer *bus.Producer
	outbox   *bus.Outbox // serve and judge
	blobs    blob.Backend
	tokens   *auth.Service
	// authn checks the bearer tokens of requests: tokens' cache over tokens.
	authn *auth.Cache
	// tokenFile holds the first admin token; firstToken is that token
	// when this start created it ("" on later starts).
	tokenFile, firstToken string
	mux                   *fnapi.Mux
	stats                 *lateStats
	limits                *clusterLimits
	gw                    *gateway.Gateway
	series                *monitor.Writer // serve and functions
	agent                 *background
	egress                *egress.Policy // teams' receivers: see egressPolicy
	// started is when the internal listener came up: the node's start.
	started time.Time
}

// components is the process's component table: the whole table for serve,
// the entries a role needs for each role. Shutdown runs it backwards, so
// the order here is also the shutdown order read from the bottom.
func (w *wiring) components() []component {
	r := w.role
	table := []struct {
		on bool
		c  component
	}{
		{true, component{"internal listener", w.startOps}},
		{r.embedded || r.needs.redis, component{"store", w.openStore}},
		{r.embedded, component{"embedded nsqd", w.startNSQD}},
		{r.needs.nsqd, component{"nsqd producer", w.startProducer}},
		{r.needs.nsqd && !r.embedded, component{"nsqlookupd", w.checkLookupd}},
		{r.embedded, component{"outbox", w.openOutbox}},
		{r.embedded || r.needs.minio, component{"artifact store", w.openBlobs}},
		{r.needs.http, component{"functions", w.startFunctions}},
		{r.needs.http && (r.embedded || r.needs.minio), component{"artifacts", w.startArtifacts}},
		{r.needs.http, component{"edge config", w.startEdge}},
		{r.needs.http && r.needs.nsqd, component{"deploy", w.startDeployer}},
		// Metric ingest and queries on every node that serves HTTP; serve's
		// series writer owns every shard, functions nodes share them by
		// leases (their writer starts after the gateway, whose URL the
		// leases advertise).
		{r.needs.http, component{"monitor", w.startMonitorComponent}},
		{r.needs.http, component{"alarms", w.startAlarmsComponent}},
		// A/B decisions on every node that serves HTTP; the aggregator
		// of tracked events in serve and on functions nodes.
		{r.needs.http, component{"ab", w.startABComponent}},
		{r.needs.http, component{"config", w.startConfigComponent}},
		// serve's judge holds every shard; judge roles split them by leases.
		{r.embedded || r.name == "judge", component{"judge", w.startJudgeComponent}},
		{r.embedded || r.name == "notify", component{"notify", w.startNotifyComponent}},
		{r.needs.http && !r.embedded, component{"cluster rate limits", w.startLimits}},
		{r.needs.http, component{"gateway", w.startGatewayComponent}},
		{r.name == "functions", component{"series writer", w.startSeriesWriter}},
		{r.name == "agent" || (r.embedded && w.opts.Agent.Local), component{"agent", w.startAgentComponent}},
		{r.embedded || r.needs.redis, component{"node heartbeat", w.startNodeHeartbeat}},
		{true, component{"readiness", w.startReadiness}},
	}
	var out []component
	for _, e := range table {
		if e.on {
			out = append(out, e.c)
		}
	}
	return out
}

// startOps binds and serves the internal listener (/health, /ready,
// /metrics, pprof); later components add their readiness checks to it.
func (w *wiring) startOps(context.Context) (stopFunc, error) {
	catalog, err := promexp.NewCatalog(metricFamilies()...)
	if err != nil {
		return nil, err
	}
	srv, err := ops.New(ops.Options{Listen: w.opts.Internal.Listen, Metrics: w.metrics, Catalog: catalog, Logger: logging.Component(w.log, "ops")})
	if err != nil {
		return nil, err
	}
	w.ops = srv
	w.started = time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(ctx); err != nil {
			w.fail(err)
		}
	}()
	return noStop(func() { cancel(); <-done }), nil
}

// openStore opens buntdb in the data dir (serve) or connects Redis (roles).
func (w *wiring) openStore(ctx context.Context) (stopFunc, error) {
	if w.role.embedded {
		if err := os.MkdirAll(w.opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create data dir: %w", err)
		}
		st, err := buntstore.Open(buntstore.Options{Path: filepath.Join(w.opts.DataDir, "store.db"), Logger: w.log})
		if err != nil {
			return nil, fmt.Errorf("cannot open store in %s: %w", w.opts.DataDir, err)
		}
		w.st = st
		w.ops.AddCheck("store", st.Ping)
	} else {
		st, err := w.openRedis(ctx)
		if err != nil {
			return nil, err
		}
		w.st = st
	}
	st := w.st
	return func(context.Context) error { return st.Close() }, nil
}

// startNSQD runs serve's in-process nsqd.
func (w *wiring) startNSQD(ctx context.Context) (stopFunc, error) {
	o := w.opts.NSQ
	n, err := bus.NewEmbedded(bus.EmbeddedOptions{
		DataDir: filepath.Join(w.opts.DataDir, "nsqd"), TCPAddr: o.EmbeddedTCP, HTTPAddr: o.EmbeddedHTTP,
		Logger: w.log,
	})
	if err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	w.nsqd = n
	return func(context.Context) error { return n.Close() }, nil
}

// startProducer connects the producer to the embedded nsqd (serve) or to
// the configured ones (roles, which ping them first).
func (w *wiring) startProducer(ctx context.Context) (stopFunc, error) {
	if w.role.embedded {
		p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{w.nsqd.TCPAddr()}, Logger: w.log})
		if err != nil {
			return nil, err
		}
		w.producer = p
		w.ops.AddCheck("nsqd", p.Ping)
	} else {
		p, err := w.openProducer(ctx)
		if err != nil {
			return nil, err
		}
		w.producer = p
	}
	p := w.producer
	return func(context.Context) error { return p.Close() }, nil
}

// checkLookupd makes sure every configured nsqlookupd answers.
func (w *wiring) checkLookupd(ctx context.Context) (stopFunc, error) {
	return nil, w.base.checkLookupd(ctx)
}

// openOutbox opens serve's outbox (deploy tasks); its stop flushes it first.
func (w *wiring) openOutbox(context.Context) (stopFunc, error) {
	if err := os.MkdirAll(w.opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create data dir: %w", err)
	}
	ob, err := bus.NewOutbox(bus.OutboxOptions{
		Path: filepath.Join(w.opts.DataDir, "outbox.db"), Producer: w.producer,
		Logger: w.log, Metrics: w.metrics,
	})
	if err != nil {
		return nil, err
	}
	w.outbox = ob
	return func(ctx context.Context) error {
		ferr := ob.Flush(ctx)
		if err := ob.Close(); err != nil {
			return err
		}
		if ferr != nil {
			return fmt.Errorf("cannot flush the outbox: %w", ferr)
		}
		return nil
	}, nil
}

// openBlobs opens the artifact dir (serve) or MinIO (the functions role).
func (w *wiring) openBlobs(ctx context.Context) (stopFunc, error) {
	if !w.role.embedded {
		// One transport of our own, so that stop closes its idle
		// keep-alive connections (minio-go clients have no Close).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if _, err := w.openMinIO(ctx, tr); err != nil {
			tr.CloseIdleConnections()
			return nil, err
		}
		o := s3blob.FromConfig(w.opts.MinIO)
		o.Transport = tr
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s3, err := s3blob.New(cctx, o)
		cancel()
		if err != nil {
			tr.CloseIdleConnections()
			return nil, depError("minio", w.opts.MinIO.Endpoint, err)
		}
		w.blobs = s3
		return noStop(tr.CloseIdleConnections), nil
	}
	dir := w.opts.Artifacts.Dir
	if dir == "" {
		dir = filepath.Join(w.opts.DataDir, "artifacts")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create artifact dir: %w", err)
	}
	disk, err := diskblob.New(diskblob.Options{Dir: dir})
	if err != nil {
		return nil, fmt.Errorf("cannot open the artifact dir: %w", err)
	}
	w.blobs = disk
	return func(context.Context) error { return disk.Close() }, nil
}

// startFunctions creates the first admin token on a first start and the
// function router with the admin function, which checks tokens through a
// cache kept in step with the store. The gateway's stop ends the calls
// still running; the cache stops after it.
func (w *wiring) startFunctions(ctx context.Context) (stopFunc, error) {
	w.tokens = auth.NewService(w.st)
	w.tokenFile = filepath.Join(w.opts.DataDir, "admin.token")
	first, err := w.tokens.Bootstrap(ctx, w.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("cannot create the first admin token: %w", err)
	}
	w.firstToken = first
	w.authn = auth.NewCache(w.tokens, auth.CacheOptions{Logger: logging.Component(w.log, "auth")})
	mux := fnapi.NewMux(w.authn, logging.Component(w.log, "functions"))
	if err := mux.Register(admin.New(w.tokens, admin.Options{Version: version, Nodes: w.st})); err != nil {
		return nil, err
	}
	w.mux = mux
	return runBackground(ctx, w.authn.Run).stop, nil
}

// startArtifacts registers the artifacts function and runs its retention
// and garbage collection.
func (w *wiring) startArtifacts(ctx context.Context) (stopFunc, error) {
	return w.registerArtifacts(ctx, w.mux, w.blobs, w.st)
}

// startEdge seeds the edge config and registers the gateway admin API.
func (w *wiring) startEdge(ctx context.Context) (stopFunc, error) {
	stats, err := w.wireEdge(ctx, w.st, w.mux)
	if err != nil {
		return nil, err
	}
	w.stats = stats
	return nil, nil
}

// startDeployer registers the deploy function and runs its driver and
// event consumer.
func (w *wiring) startDeployer(ctx context.Context) (stopFunc, error) {
	var d *background
	var err error
	if w.role.embedded {
		d, err = w.startDeploy(ctx, w.mux, w.st, w.outbox, w.producer, []string{w.nsqd.TCPAddr()}, nil)
	} else {
		d, err = w.startDeploy(ctx, w.mux, w.st, nil, w.producer, w.consumeFrom(), w.opts.NSQ.Lookupd)
	}
	if err != nil {
		return nil, err
	}
	return d.stop, nil
}

// consumeFrom is where a role's consumers find nsqd: through nsqlookupd
// when there is one (connecting to the same nsqd directly as well would be
// a second connection), else the configured nsqd.
func (w *wiring) consumeFrom() []string {
	if len(w.opts.NSQ.Lookupd) > 0 {
		return nil
	}
	return w.opts.NSQ.NSQD
}

// startLimits makes a role's rate limits cluster-wide over Redis.
func (w *wiring) startLimits(ctx context.Context) (stopFunc, error) {
	limits, stop, err := w.startClusterLimits(ctx, w.role.name)
	if err != nil {
		return nil, err
	}
	w.limits = limits
	return stop, nil
}

// startGatewayComponent binds and runs the gateway. Its stop drains
// in-flight requests, then ends function calls still running.
func (w *wiring) startGatewayComponent(context.Context) (stopFunc, error) {
	gw, err := w.startGateway(w.mux, w.st, w.stats, w.limits)
	if err != nil {
		return nil, err
	}
	w.gw = gw
	w.ownGateway()
	mux := w.mux
	return func(ctx context.Context) error {
		err := gw.Shutdown(ctx)
		mux.Close()
		return err
	}, nil
}

// startAgentComponent runs the deploy agent: serve's local one against its
// own gateway, or the agent role's against agent.server. Its stop
// deregisters its instances through the gateway, then stops them.
func (w *wiring) startAgentComponent(ctx context.Context) (stopFunc, error) {
	var ag *background
	if w.role.embedded {
		token, err := w.agentToken(ctx, w.tokens)
		if err != nil {
			return nil, err
		}
		plain, _ := gatewayURLs(w.gw, w.opts.Gateway)
		if ag, err = w.startAgent(ctx, plain, token, []string{w.nsqd.TCPAddr()}, nil); err != nil {
			return nil, err
		}
	} else {
		token, err := readTokenFile(w.opts.Agent.TokenFile)
		if err != nil {
			return nil, err
		}
		if w.opts.Agent.Server == "" {
			return nil, fmt.Errorf("the agent needs the control plane's URL: set agent.server (--agent-server or WHARF_AGENT_SERVER)")
		}
		if ag, err = w.startAgent(ctx, w.opts.Agent.Server, token, w.opts.NSQ.NSQD, w.opts.NSQ.Lookupd); err != nil {
			return nil, err
		}
	}
	w.agent = ag
	return ag.stop, nil
}

// startReadiness is last: its stop, the first shutdown step, fails /ready
// so load balancers stop sending before anything else stops.
func (w *wiring) startReadiness(context.Context) (stopFunc, error) {
	srv := w.ops
	if w.mux != nil {
		// Every function has registered its routes by now.
		routes := w.mux.Routes()
		srv.Handle("GET /routes", http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(rw).Encode(map[string]any{"routes": routes})
		}))
	}
	return noStop(srv.SetDraining), nil
}
