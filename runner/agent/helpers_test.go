package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/testenv"
)

// sampleMain is the sample app: /healthz answers 200, or 500 with
// BROKEN=1, or 503 while the file $BLOCK_FILE exists; / answers the
// version; /config the file $WHARF_CONFIG_DIR/application.properties as
// it was when the app started; a SIGHUP appends a line to sighup.txt in
// its directory; CRASH=1 makes it exit at once.
const sampleMain = `package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	version := os.Getenv("WHARF_VERSION")
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			f, err := os.OpenFile("sighup.txt", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err == nil {
				fmt.Fprintln(f, os.Getenv("WHARF_INSTANCE"))
				f.Close()
			}
		}
	}()
	if os.Getenv("CRASH") == "1" {
		fmt.Println("crash requested: version", version, "exits at once")
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Println("cannot listen:", err)
		os.Exit(1)
	}
	broken := os.Getenv("BROKEN") == "1"
	fmt.Printf("sample %s (%s) listening on %s\n", version, os.Getenv("WHARF_INSTANCE"), ln.Addr())
	if broken {
		fmt.Println("BROKEN=1: /healthz answers 500")
	}
	block := os.Getenv("BLOCK_FILE")
	startConfig, cfgErr := os.ReadFile(os.Getenv("WHARF_CONFIG_DIR") + "/application.properties")
	mux := http.NewServeMux()
	mux.HandleFunc("/config", func(w http.ResponseWriter, r *http.Request) {
		if cfgErr != nil {
			http.Error(w, cfgErr.Error(), http.StatusNotFound)
			return
		}
		w.Write(startConfig)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if broken {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		if block != "" {
			if _, err := os.Stat(block); err == nil {
				http.Error(w, "blocked", http.StatusServiceUnavailable)
				return
			}
		}
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, version) })
	_ = http.Serve(ln, mux)
}
`

// sampleBin is the sample app's binary, built once by TestMain.
var sampleBin string

// childEnv makes the test binary run an agent (the crash test's victim).
const childEnv = "WHARF_AGENT_TEST_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChildAgent(cfg))
	}
	dir, err := os.MkdirTemp("", "wharf-agent-sample-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := buildSample(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	sampleBin = filepath.Join(dir, "server")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildSample(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(sampleMain), 0o644); err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("cannot build the sample app: %w", err)
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", "server", "main.go")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cannot build the sample app: %w\n%s", err, out)
	}
	return nil
}

// bundleSpec is a sample bundle: the manifest's variable parts.
type bundleSpec struct {
	app     string // default shop
	version string
	env     map[string]string
	hooks   bundle.Hooks
	extra   string // more manifest lines, as they are
	web     string // the web process's command (default ./server)
}

// bundleCache holds the bundles packed so far by spec (packing under
// the race detector is slow).
var bundleCache sync.Map

// makeBundle packs the sample app with a wharf.yaml for spec.
func makeBundle(t testing.TB, spec bundleSpec) []byte {
	t.Helper()
	key := fmt.Sprintf("%+v", spec)
	if b, ok := bundleCache.Load(key); ok {
		return b.([]byte)
	}
	b := packBundle(t, spec)
	bundleCache.Store(key, b)
	return b
}

func packBundle(t testing.TB, spec bundleSpec) []byte {
	dir := t.TempDir()
	bin, err := os.ReadFile(sampleBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	var y strings.Builder
	app := spec.app
	if app == "" {
		app = "shop"
	}
	web := spec.web
	if web == "" {
		web = "./server"
	}
	fmt.Fprintf(&y, "app: %s\nprocesses:\n  web: %s\n  worker: exec sleep 600\n", app, web)
	y.WriteString("health:\n  path: /healthz\n  timeout: 1s\ninstances: 2\nstop_grace: 5s\n")
	if len(spec.env) > 0 {
		y.WriteString("env:\n")
		for _, k := range slices.Sorted(maps.Keys(spec.env)) {
			fmt.Fprintf(&y, "  %s: %q\n", k, spec.env[k])
		}
	}
	if spec.hooks.PreStart != "" || spec.hooks.PostStart != "" {
		y.WriteString("hooks:\n")
		if spec.hooks.PreStart != "" {
			fmt.Fprintf(&y, "  pre_start: %q\n", spec.hooks.PreStart)
		}
		if spec.hooks.PostStart != "" {
			fmt.Fprintf(&y, "  post_start: %q\n", spec.hooks.PostStart)
		}
	}
	y.WriteString(spec.extra)
	if err := os.WriteFile(filepath.Join(dir, bundle.ManifestName), []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf, bundle.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// harness is one test's world: nsqd, the control plane, an event
// consumer on deploy.events and a data dir for agents.
type harness struct {
	t    *testing.T
	nsqd *testenv.NSQD
	cp   *controlPlane
	prod *bus.Producer
	dir  string
	host string
	logs *lockedBuffer

	mu     sync.Mutex
	events []wire.Event
	bodies [][]byte // the events' messages as published
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("WHARF_AGENT_TEST_LOGS") != "" {
			t.Logf("agent logs:\n%s", logs.String())
		}
	})
	h := &harness{t: t, nsqd: testenv.StartNSQD(t), cp: newControlPlane(t), dir: testenv.CrossableDir(t), host: "host-1", logs: logs}
	prod, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{h.nsqd.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prod.Close() })
	h.prod = prod
	cons, err := bus.NewConsumer(bus.ConsumerOptions{
		Topic: wire.TopicEvents, Channel: "test", NSQDAddrs: []string{h.nsqd.Addr}, MaxInFlight: 1,
		Handler: func(_ context.Context, m *bus.Message) error {
			ev, err := wire.ParseEvent(m.Body)
			if err != nil {
				t.Errorf("bad event %s: %v", m.Body, err)
				return nil
			}
			h.mu.Lock()
			h.events = append(h.events, ev)
			h.bodies = append(h.bodies, slices.Clone(m.Body))
			h.mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cons.Stop() })
	return h
}

// options are the agent options of the harness, with short timings.
func (h *harness) options() Options {
	api, err := apiclient.New(h.cp.srv.URL, h.cp.token)
	if err != nil {
		h.t.Fatal(err)
	}
	return Options{
		HostID: h.host, Room: "r1", Labels: []string{"ssd"}, Capacity: 4, Version: "test",
		DataDir: h.dir, API: api, NSQDAddrs: []string{h.nsqd.Addr},
		Logger:     slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		DrainDelay: 300 * time.Millisecond, HealthTimeout: 10 * time.Second,
		InstanceTTL: 2 * time.Second, InstanceHeartbeat: 200 * time.Millisecond,
		HeartbeatEvery: 200 * time.Millisecond, DownloadRetries: -1, FlushTimeout: 2 * time.Second,
	}
}

// runningAgent is an Agent running in a goroutine.
type runningAgent struct {
	*Agent
	t      testing.TB
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// start runs an agent with opts; the test's cleanup stops it.
func (h *harness) start(opts Options) *runningAgent {
	h.t.Helper()
	a, err := New(opts)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{Agent: a, t: h.t, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(ctx) }()
	h.t.Cleanup(ra.stop)
	return ra
}

// stop cancels Run and waits for it to return nil.
func (ra *runningAgent) stop() {
	ra.once.Do(func() {
		ra.cancel()
		select {
		case err := <-ra.done:
			if err != nil {
				ra.t.Errorf("Run returned %v", err)
			}
		case <-time.After(30 * time.Second):
			ra.t.Fatal("agent did not stop within 30s")
		}
	})
}

// publish signs a task with the control plane's key, as the deploy
// function does, and sends it to the host's topic.
func (h *harness) publish(task wire.Task) {
	h.t.Helper()
	h.publishRaw(h.cp.sign(task))
}

// publishRaw sends a message to the host's topic as it is.
func (h *harness) publishRaw(b []byte) {
	h.t.Helper()
	if err := h.prod.Publish(context.Background(), wire.HostTopic(h.host), b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) task(deployID string, id int, kind wire.TaskKind, version, sha string) wire.Task {
	return wire.Task{DeployID: deployID, App: "shop", Host: h.host, TaskID: id, Kind: kind, Version: version, SHA256: sha}
}

// eventsOf returns the events of a task, in arrival order.
func (h *harness) eventsOf(deployID string, taskID int) []wire.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []wire.Event
	for _, e := range h.events {
		if e.DeployID == deployID && e.TaskID == taskID {
			out = append(out, e)
		}
	}
	return out
}

func states(evs []wire.Event) []wire.Phase {
	out := make([]wire.Phase, len(evs))
	for i, e := range evs {
		out[i] = e.State
	}
	return out
}

// waitFinal waits for a terminal event of the task and returns it.
func (h *harness) waitFinal(deployID string, taskID int, timeout time.Duration) wire.Event {
	h.t.Helper()
	var final wire.Event
	testenv.Eventually(h.t, timeout, func() error {
		for _, e := range h.eventsOf(deployID, taskID) {
			switch e.State {
			case wire.PhaseHealthy, wire.PhaseRolledBack, wire.PhaseFailed:
				final = e
				return nil
			}
		}
		return fmt.Errorf("no final event of %s/%d yet: %v", deployID, taskID, states(h.eventsOf(deployID, taskID)))
	})
	return final
}

// waitState waits for an event of the task in state.
func (h *harness) waitState(deployID string, taskID int, state wire.Phase, timeout time.Duration) {
	h.t.Helper()
	testenv.Eventually(h.t, timeout, func() error {
		if slices.Contains(states(h.eventsOf(deployID, taskID)), state) {
			return nil
		}
		return fmt.Errorf("no %s event of %s/%d yet: %v", state, deployID, taskID, states(h.eventsOf(deployID, taskID)))
	})
}

// readState reads the agent's state file.
func (h *harness) readState() stateFile {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, StateFileName))
	if err != nil {
		h.t.Fatal(err)
	}
	var st stateFile
	if err := json.Unmarshal(b, &st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// checkServing checks that every live registration answers its version.
func (h *harness) checkServing(want string, n int) {
	h.t.Helper()
	testenv.Eventually(h.t, 10*time.Second, func() error {
		live := h.cp.live()
		if len(live) != n {
			return fmt.Errorf("%d live registrations, want %d: %v", len(live), n, live)
		}
		for id, b := range live {
			if b.Version != want {
				return fmt.Errorf("instance %s registered with version %q, want %q", id, b.Version, want)
			}
			got, err := getBody("http://" + b.Addr + "/")
			if err != nil || got != want {
				return fmt.Errorf("instance %s at %s answers %q (%v), want %q", id, b.Addr, got, err, want)
			}
		}
		return nil
	})
}

// groupsGone waits until none of the process groups is alive.
func groupsGone(t testing.TB, groups []groupRecord) {
	t.Helper()
	testenv.Eventually(t, 15*time.Second, func() error {
		for _, g := range groups {
			if groupAlive(g.PGID) {
				return fmt.Errorf("process group %d (%s) still alive", g.PGID, g.Name)
			}
		}
		return nil
	})
}

// killGroupsOnCleanup kills what a crashed agent may leave behind.
func killGroupsOnCleanup(t testing.TB, groups func() []groupRecord) {
	t.Cleanup(func() {
		for _, g := range groups() {
			if ourGroup(g) {
				_ = syscall.Kill(-g.PGID, syscall.SIGKILL)
			}
		}
	})
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// childConfig configures an agent run by the test binary in a child
// process.
type childConfig struct {
	HostID, DataDir, Server, Token string
	NSQD                           []string
}

// runChildAgent runs an agent until SIGTERM (or SIGKILL, in the test).
func runChildAgent(raw string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	api, err := apiclient.New(cfg.Server, cfg.Token)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	a, err := New(Options{
		HostID: cfg.HostID, Room: "r1", DataDir: cfg.DataDir, API: api, NSQDAddrs: cfg.NSQD,
		Logger:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
		DrainDelay: 300 * time.Millisecond, HealthTimeout: 10 * time.Second,
		InstanceTTL: 2 * time.Second, InstanceHeartbeat: 200 * time.Millisecond, HeartbeatEvery: 200 * time.Millisecond,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
