// Package agent is Wharf's deploy agent: it runs on an app host, takes
// deploy and rollback tasks from its NSQ topic (wire.HostTopic), installs
// and starts releases, registers their web instances with the gateway
// registry and reports every step to the deploy function on
// wire.TopicEvents, through a durable outbox.
//
// # A task
//
// A task (wire.Task, Kind deploy or rollback; a rollback is the same
// procedure aimed at the older version, usually still on disk) goes:
//
//  1. downloading: release.Manager.Install from the API's artifact
//     download (sha256 checked before anything is unpacked; skipped when
//     the release is present);
//  2. starting: hooks.pre_start; free loopback ports for the web
//     instances; release.Manager.Activate; every process of the manifest
//     started under supervise (the "web" one `instances` times, each with
//     PORT); health checks (HTTP 2xx on health.path, or a TCP connect)
//     until Options.HealthTimeout, failing at once when a process exits;
//     registration of each web instance; hooks.post_start;
//  3. healthy (rolled_back for a rollback task): reported; only then the
//     old release's instances are deregistered, Options.DrainDelay later
//     their processes stopped with the manifest's stop_signal and
//     stop_grace, and old releases pruned (the current and previous
//     versions are always kept).
//
// On a failure the task reports failed with a message, the phase's
// duration and the end of the failing process's or hook's log; the new
// processes are stopped and deregistered, `current` goes back, and the
// old release, which never stopped, keeps serving. A task for the version
// an app already runs, with all its processes up, reports healthy at once.
//
// # Signed tasks
//
// Every message on the host topic must be a wire.SignedTask signed by the
// deploy function's key, which the agent fetches with its token from
// wire.TaskKeysPath at start and again (at most once a second) when a
// task names a key id it does not know (a rotation). A message that is
// not signed, signed by an unknown key, does not match its signature
// (forged or tampered), is for another host, is outside its issued-at
// .. expiry window, or repeats a nonce the agent accepted before (kept in
// the state file until it expires) is refused: logged at WARN without
// its signature and counted in wharf_agent_tasks_refused_total{reason}
// on Options.Metrics. Nothing of it is run or reported.
//
// # Signed events
//
// At its first start the agent makes an Ed25519 key pair and keeps it in
// Options.DataDir/event.key (PKCS #8 PEM, 0600, never logged). Its
// heartbeat announces the public key, which the host's binding records,
// and every event it publishes is a wire.SignedEvent signed with it, so
// that the deploy function applies no event that another process on the
// bus made up. Deleting the file makes a new key at the next start, which
// the deploy function refuses (409 on the heartbeat) until an admin
// releases the host.
//
// # Who apps run as
//
// Apps and their hooks run as Options.RunAs. By default, when the agent
// runs as root, every app gets a uid and gid of its own (from
// Options.AppUIDBase, remembered in the state file), no supplementary
// groups and HOME set to its release. The data dir is crossable but not
// listable (0711), logs/ is the agent's alone (0700; apps write their
// output into a pipe), <apps>/<app> is root:<app gid> 0750, and a release
// is the app's own (owner the app's uid, nothing for others). So an app
// reads its own release and nothing of Wharf's or of other apps. Not
// root and no RunAs: apps run as the agent's user, and a WARN says so.
//
// # Queue, idempotency and restart
//
// The NSQ handler verifies a task (see above), checks it, appends it to the queue in the
// state file (Options.DataDir/agent-state.json, written atomically) and
// finishes the message; per-app workers run the queue, one task of an app
// at a time, different apps in parallel. A task whose id (deploy id + task
// id) was finished is answered with its last event again and nothing else;
// one already queued is ignored; one older than a task of the same deploy
// and app already seen is ignored (it was superseded, e.g. by a rollback).
//
// A new agent on the same DataDir first stops the process groups the
// previous run left behind (checked against the kernel's boot id and each
// leader's start time, so a recycled pid is never signalled), deletes
// their registrations, and starts every app's recorded release again
// (the version of the last successful task, which `current` is set back
// to) and registers it. A task that was queued or in progress is resumed
// from its start — every step is idempotent: the install is skipped, the
// half-started processes of the interrupted run are gone — unless it was
// already started MaxTaskAttempts times, in which case it is reported
// failed with "agent restarted mid-task" instead, so a task that kills the
// agent cannot loop forever.
//
// # App logs
//
// Every line an app's process writes (stdout or stderr, split at 4 KiB)
// is queued, with the time, instance id (WHARF_INSTANCE) and manifest
// process, and shipped in batches of at most wire.MaxLogBatch lines every
// Options.LogShipEvery to POST /api/v1/agents/hosts/{id}/logs, where
// `wharf logs` reads them. The queue holds Options.LogBuffer lines; a line
// that finds it full, or whose batch the API refuses, is dropped and
// counted (wharf_agent_log_lines_dropped_total, and per app in the next
// batch): an app never waits for its logs to ship. The log files under
// logs/<app>/ keep everything regardless.
//
// # Shutdown
//
// When Run's context ends the agent stops taking tasks, lets the task in
// progress abort (its new processes are stopped; it stays queued and is
// resumed by the next run), deregisters every instance at once, waits
// DrainDelay, stops every child in parallel, and flushes the outbox
// (bounded by FlushTimeout).
package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/runner/agent/release"
)

// Agent is the deploy agent of one host. Create it with New and run it
// with Run, once.
type Agent struct {
	opts      Options
	appsRoot  string // where releases live (see prepareDirs)
	log       *slog.Logger
	rel       *release.Manager
	statePath string
	bootID    string
	health    *healthChecker
	memTotal  uint64
	iso       isolation
	ports     *portPool // the web instances' ports
	keys      *taskKeys
	tm        taskMetrics
	eventKey  ed25519.PrivateKey // signs the events (EventKeyFileName)
	logs      *logShipper        // ships the apps' output lines
	cfg       configCache        // the apps' config files (configcache.go)

	saveMu sync.Mutex // serialises state file writes; taken before mu
	uidMu  sync.Mutex // serialises app uid allocations; taken before saveMu

	mu       sync.Mutex
	st       stateFile
	apps     map[string]*appRun
	started  bool
	stopping bool
	runCtx   context.Context // workers' context: Run's
	procCtx  context.Context // children's context: ends after shutdown

	outbox  *bus.Outbox
	workers sync.WaitGroup
	loops   sync.WaitGroup
	kickHB  chan struct{}
}

// appRun is an app's live state. Guarded by Agent.mu, except the gens'
// own fields (see gen).
type appRun struct {
	name     string
	version  string // the release the app serves (state record)
	sha      string
	previous string
	cur      *gen   // processes of version; nil when not running
	retiring []*gen // old releases being drained and stopped
	working  bool   // a worker goroutine runs the app's queue
	restore  bool   // the worker must start version first (restart)
	busy     *wire.Task
}

// New checks opts, creates DataDir and reads the state file.
func New(opts Options) (*Agent, error) {
	if err := setDefaults(&opts); err != nil {
		return nil, err
	}
	iso, err := newIsolation(opts)
	if err != nil {
		return nil, err
	}
	ports, err := newPortPool(opts.PortMin, opts.PortMax)
	if err != nil {
		return nil, fmt.Errorf("cannot create agent: %w", err)
	}
	if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create agent data dir: %w", err)
	}
	appsRoot, err := iso.prepareDirs(opts.DataDir, opts.AppsDir)
	if err != nil {
		return nil, fmt.Errorf("cannot create agent: %w", err)
	}
	log := logging.Component(opts.Logger, "agent").With("host", opts.HostID)
	iso.announce(log, opts.RunAs)
	if lo, hi, ok := ephemeralOverlap(opts.PortMin, opts.PortMax); ok {
		log.Warn("the web instances' port range overlaps the kernel's ephemeral ports: an outgoing connection may take a port before its app listens",
			"port_min", opts.PortMin, "port_max", opts.PortMax, "ephemeral", fmt.Sprintf("%d-%d", lo, hi))
	}
	if def, _ := filepath.Abs(filepath.Join(opts.DataDir, appsDirName)); appsRoot != def {
		log.Info("releases live outside the data dir", "apps_dir", appsRoot)
	}
	rel, err := release.New(release.Options{
		Root: appsRoot, Keep: opts.Keep,
		Retries: opts.DownloadRetries, Backoff: opts.DownloadBackoff, Logger: opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot create agent: %w", err)
	}
	path := filepath.Join(opts.DataDir, StateFileName)
	st, err := loadState(path)
	var corrupt *corruptStateError
	switch {
	case errors.As(err, &corrupt):
		log.Error("agent state unreadable", "err", err)
	case err != nil:
		return nil, fmt.Errorf("cannot create agent: %w", err)
	}
	eventKey, err := loadEventKey(opts.DataDir, log)
	if err != nil {
		return nil, fmt.Errorf("cannot create agent: %w", err)
	}
	a := &Agent{appsRoot: appsRoot, eventKey: eventKey,
		opts: opts, log: log, rel: rel, statePath: path, st: st,
		bootID: bootID(), memTotal: memTotal(), iso: iso, ports: ports,
		keys: &taskKeys{api: opts.API, timeout: opts.APITimeout}, tm: newTaskMetrics(opts.Metrics),
		health: newHealthChecker(),
		logs:   newLogShipper(opts.LogBuffer, opts.Metrics),
		apps:   map[string]*appRun{},
		kickHB: make(chan struct{}, 1),
	}
	for name, rec := range st.Apps {
		a.apps[name] = &appRun{name: name, version: rec.Version, sha: rec.SHA256, previous: rec.Previous}
	}
	return a, nil
}

// Run recovers from the previous run (see the package doc), starts the
// heartbeats and the task consumer, and works until ctx ends; then it
// shuts down in order (see the package doc) and returns nil. It fails
// only if it cannot start.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return errors.New("cannot run agent: already run")
	}
	a.started = true
	a.runCtx = ctx
	procCtx, cancelProcs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelProcs()
	a.procCtx = procCtx
	a.mu.Unlock()

	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: a.opts.NSQDAddrs, Security: a.opts.BusSecurity, Logger: a.opts.Logger})
	if err != nil {
		return fmt.Errorf("cannot run agent: %w", err)
	}
	defer prod.Close()
	a.outbox, err = bus.NewOutbox(bus.OutboxOptions{
		Path: filepath.Join(a.opts.DataDir, "outbox.db"), Producer: prod, Name: "agent-events", Logger: a.opts.Logger,
	})
	if err != nil {
		return fmt.Errorf("cannot run agent: %w", err)
	}
	if err := os.Chmod(filepath.Join(a.opts.DataDir, "outbox.db"), 0o600); err != nil {
		_ = a.outbox.Close()
		return fmt.Errorf("cannot run agent: %w", err)
	}
	cons, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.HostTopic(a.opts.HostID), Channel: wire.ChannelAgent,
		NSQDAddrs: a.opts.NSQDAddrs, LookupdHTTPAddrs: a.opts.LookupdHTTPAddrs,
		MaxInFlight: a.opts.MaxInFlight, Handler: a.handle, Logger: a.opts.Logger,
		PollInterval: 5 * time.Second, Security: a.opts.BusSecurity,
	})
	if err != nil {
		_ = a.outbox.Close()
		return fmt.Errorf("cannot run agent: %w", err)
	}

	if err := a.keys.fetch(ctx); err != nil {
		a.log.Warn("no task-signing keys yet, fetching them when a task comes", "err", err)
	}
	a.recoverPrevious(ctx)
	a.loops.Add(3)
	go a.hostHeartbeats(ctx)
	go a.instanceHeartbeats(ctx)
	go a.shipLogs(ctx)
	if a.opts.Feed != nil {
		a.loops.Add(1)
		go a.feedMetrics(ctx)
	}
	if err := cons.Start(ctx); err != nil {
		a.log.Error("cannot start task consumer", "err", err)
	} else {
		a.log.Info("agent running", "topic", wire.HostTopic(a.opts.HostID))
	}
	<-ctx.Done()
	a.shutdown(cons)
	return nil
}

// shutdown stops the consumer and workers, deregisters every instance,
// waits DrainDelay, stops every child and flushes the outbox.
func (a *Agent) shutdown(cons *bus.Consumer) {
	a.log.Info("agent stopping")
	if err := cons.Stop(); err != nil {
		a.log.Warn("cannot stop task consumer cleanly", "err", err)
	}
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	a.workers.Wait()
	a.loops.Wait()

	a.mu.Lock()
	var gens []*gen
	for _, ar := range a.apps {
		if ar.cur != nil {
			gens = append(gens, ar.cur)
		}
		gens = append(gens, ar.retiring...)
		ar.cur, ar.retiring = nil, nil
	}
	a.mu.Unlock()
	if a.deregisterAll(gens) > 0 {
		time.Sleep(a.opts.DrainDelay)
	}
	a.stopGens(gens)
	a.stopConfig()
	a.saveOrLog()

	fctx, cancel := context.WithTimeout(context.Background(), a.opts.FlushTimeout)
	defer cancel()
	if err := a.outbox.Flush(fctx); err != nil {
		a.log.Warn("events left in the outbox for the next run", "err", err)
	}
	if err := a.outbox.Close(); err != nil {
		a.log.Warn("cannot close outbox", "err", err)
	}
	a.log.Info("agent stopped")
}

// Apps returns what runs on the host: app → its release, as sent in the
// heartbeat. Safe to call at any time.
func (a *Agent) Apps() map[string]wire.AppState {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]wire.AppState, len(a.apps))
	for name, ar := range a.apps {
		if ar.version == "" {
			continue
		}
		s := wire.AppState{Version: ar.version, Previous: ar.previous}
		if ar.cur != nil {
			s.Instances = ar.cur.addrs()
			s.Healthy = ar.cur.running()
		}
		out[name] = s
	}
	return out
}

// busyTask returns a task in progress, if any (the first by app name).
func (a *Agent) busyTask() *wire.Task {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.apps))
	for n, ar := range a.apps {
		if ar.busy != nil {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	t := *a.apps[names[0]].busy
	return &t
}

// app returns an app's live state, creating it. a.mu held.
func (a *Agent) app(name string) *appRun {
	ar := a.apps[name]
	if ar == nil {
		ar = &appRun{name: name}
		a.apps[name] = ar
	}
	return ar
}

// kickHeartbeat asks for a host heartbeat now.
func (a *Agent) kickHeartbeat() {
	select {
	case a.kickHB <- struct{}{}:
	default:
	}
}

// apiCtx is the context of one API call.
func (a *Agent) apiCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.opts.APITimeout)
}
