package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// sampleApp is the source of the service the deploy tests ship: it answers
// "<version> <instance>" (500 when FAIL_REQUESTS=1), and /healthz fails
// when BROKEN=1; STARTUP_DELAY delays its listener; CRASH=1 makes it say
// why on stderr and exit at once. It prints "listening on PORT as
// INSTANCE" when it starts, and /say?line=X[&stream=stderr] (also under
// /shop/) prints X and answers its instance id.
const sampleApp = `package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

func main() {
	if d, err := time.ParseDuration(os.Getenv("STARTUP_DELAY")); err == nil {
		time.Sleep(d)
	}
	if os.Getenv("CRASH") == "1" {
		fmt.Fprintln(os.Stderr, "cannot open database: crashing on purpose")
		os.Exit(1)
	}
	v := os.Getenv("WHARF_VERSION")
	fmt.Printf("listening on %s as %s\n", os.Getenv("PORT"), os.Getenv("WHARF_INSTANCE"))
	say := func(w http.ResponseWriter, r *http.Request) {
		out := os.Stdout
		if r.URL.Query().Get("stream") == "stderr" {
			out = os.Stderr
		}
		fmt.Fprintln(out, r.URL.Query().Get("line"))
		fmt.Fprint(w, os.Getenv("WHARF_INSTANCE"))
	}
	http.HandleFunc("/say", say)
	http.HandleFunc("/shop/say", say)
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("BROKEN") == "1" {
			http.Error(w, "broken on purpose", 500)
			return
		}
		fmt.Fprint(w, "ok")
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("FAIL_REQUESTS") == "1" {
			http.Error(w, v+" fails on purpose", 500)
			return
		}
		fmt.Fprintf(w, "%s %s", v, os.Getenv("WHARF_INSTANCE"))
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// buildSampleApp compiles sampleApp into dir/server.
func buildSampleApp(t *testing.T, dir string) string {
	t.Helper()
	src := t.TempDir()
	for name, body := range map[string]string{"main.go": sampleApp, "go.mod": "module sample\n\ngo 1.26\n"} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the sample app: %v\n%s", err, out)
	}
	return bin
}

// pidsUnder lists the processes running a binary under dir (an agent's
// releases).
func pidsUnder(dir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && strings.HasPrefix(exe, dir+"/") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killUnder kills every process running a binary under dir: the app
// instances an agent killed with SIGKILL (or a failed test) leaves behind.
func killUnder(dir string) {
	for _, pid := range pidsUnder(dir) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// bundleDir writes a bundle directory for the sample app with extra
// manifest lines.
func bundleDir(t *testing.T, bin, extra string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "server"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := "app: shop\nprocesses:\n  web: ./server\nhealth:\n  path: /healthz\n  timeout: 1s\ninstances: 2\n" + extra
	if err := os.WriteFile(filepath.Join(dir, "wharf.yaml"), []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// trafficLoad sends GETs through the gateway until stopped, counting
// answers by version and failures.
type trafficLoad struct {
	mu       sync.Mutex
	versions map[string]int
	failures []string
	total    atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
	paused   atomic.Bool
}

func startTraffic(t *testing.T, url string, workers int) *trafficLoad {
	t.Helper()
	l := &trafficLoad{versions: map[string]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				resp, err := client.Get(url)
				var line string
				if err == nil {
					var b bytes.Buffer
					_, _ = b.ReadFrom(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						line = fmt.Sprintf("%s: %d %s", time.Now().Format(time.TimeOnly), resp.StatusCode, b.String())
					} else {
						v, _, _ := strings.Cut(b.String(), " ")
						l.mu.Lock()
						l.versions[v]++
						l.mu.Unlock()
					}
				} else {
					line = fmt.Sprintf("%s: %v", time.Now().Format(time.TimeOnly), err)
				}
				l.total.Add(1)
				if line != "" {
					l.mu.Lock()
					l.failures = append(l.failures, line)
					l.mu.Unlock()
				}
			}
		})
	}
	t.Cleanup(l.end)
	return l
}

// waitRequests waits until n more requests have been answered (or failed).
func (l *trafficLoad) waitRequests(t *testing.T, n int64) {
	t.Helper()
	from := l.total.Load()
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := l.total.Load() - from; got < n {
			return fmt.Errorf("%d of %d requests answered", got, n)
		}
		return nil
	})
}

func (l *trafficLoad) end() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// snapshot returns the answers by version and the failures so far, and
// resets them.
func (l *trafficLoad) snapshot() (map[string]int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, f := l.versions, l.failures
	l.versions, l.failures = map[string]int{}, nil
	return v, f
}

type deployCluster struct {
	t        *testing.T
	gw       string
	env      []string // CLI environment: server and admin token
	dir      string
	agentEnv []string
	agents   map[string]*proc
	agentDir map[string]string
}

// startAgentProc runs `wharf agent` for host id in room.
func (c *deployCluster) startAgentProc(id, room string) {
	c.t.Helper()
	dir, ok := c.agentDir[id]
	if !ok {
		dir = c.t.TempDir()
		c.agentDir[id] = dir
		c.t.Cleanup(func() { killUnder(dir) })
	}
	p := startWharf(c.t, dir, c.agentEnv, roleArgs("agent", "--agent-id", id, "--agent-room", room)...)
	p.waitFor(reRoleInternal, 30*time.Second)
	c.agents[id] = p
}

// waitRetired waits until each of the agents hosts has logged that it
// drained and stopped the instances of version.
func (c *deployCluster) waitRetired(version string, hosts ...string) {
	c.t.Helper()
	re := regexp.MustCompile(`msg="old release retired".* version=` + regexp.QuoteMeta(version) + `( |$)`)
	for _, h := range hosts {
		testenv.Eventually(c.t, 30*time.Second, func() error {
			for _, line := range readLines(c.agents[h].errOut()) {
				if re.MatchString(line) {
					return nil
				}
			}
			return fmt.Errorf("agent %s has not retired %s yet", h, version)
		})
	}
}

// deployJSON runs `wharf` with args and -o json, returning the decoded view.
func (c *deployCluster) deployJSON(args ...string) deployView {
	c.t.Helper()
	out, errOut, code := runWharf(c.t, c.dir, c.env, append(args, "-o", "json")...)
	if code != 0 {
		c.t.Fatalf("wharf %v: exit %d\n%s\n%s", args, code, out, errOut)
	}
	var v deployView
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		c.t.Fatalf("wharf %v: %v\n%s", args, err, out)
	}
	return v
}

// waitDeploy polls a deploy until it ends and returns it.
func (c *deployCluster) waitDeploy(id string, timeout time.Duration) deployView {
	c.t.Helper()
	var v deployView
	testenv.Eventually(c.t, timeout, func() error {
		v = c.deployJSON("deploy", "status", id)
		if !v.Done() {
			return fmt.Errorf("deploy %s is %s (step %d of %d)", id, v.State, v.Summary.Step, v.Summary.Steps)
		}
		return nil
	})
	return v
}

// instances returns the registered instances of shop: version → rooms.
func (c *deployCluster) instances() map[string][]string {
	c.t.Helper()
	r := call(c.t, "GET", c.gw+"/api/v1/services/shop/instances", strings.TrimPrefix(c.env[1], "WHARF_TOKEN="), nil)
	var out struct {
		Instances []struct {
			Room    string `json:"room"`
			Version string `json:"version"`
		} `json:"instances"`
	}
	if err := json.Unmarshal([]byte(r.raw), &out); err != nil {
		c.t.Fatalf("instances: %d %s", r.status, r.raw)
	}
	got := map[string][]string{}
	for _, in := range out.Instances {
		got[in.Version] = append(got[in.Version], in.Room)
	}
	return got
}

// TestDeployAcceptance is the deploy issue's acceptance run on real Redis,
// MinIO and nsqd: a functions node (gateway, artifacts, deploy) and three
// agents in two rooms. A canary deploy under constant load fails no
// request and ends with every room on the new version; a broken version is
// rolled back after its first step without ever getting traffic; an agent
// killed mid-deploy has its target failed within 15 s and recovers when it
// comes back.
func TestDeployAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end acceptance run")
	}
	redis := testenv.StartRedis(t)
	nsqd := testenv.StartNSQD(t)
	minio := testenv.StartMinIO(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("services:\n  - name: shop\nroutes:\n  - {name: shop, path: /shop, service: shop}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"WHARF_REDIS_ADDR=" + redis.Addr, "WHARF_NSQ_NSQD=" + nsqd.Addr}
	fn := startWharf(t, dir, append(common, "WHARF_MINIO_ENDPOINT="+minio.Addr, "WHARF_MINIO_ACCESS_KEY="+minio.AccessKey,
		"WHARF_MINIO_SECRET_KEY="+minio.SecretKey), roleArgs("functions", "--config", cfg)...)
	gw := fn.waitFor(reRoleHTTP, 60*time.Second)[1]
	admin := fn.waitFor(reToken, 5*time.Second)[1]
	c := &deployCluster{t: t, gw: gw, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin},
		agents: map[string]*proc{}, agentDir: map[string]string{}}

	out, errOut, code := runWharf(t, dir, c.env, "token", "create", "--name", "agents", "--scope", "agent", "-o", "json")
	m := regexp.MustCompile(`"token": "(wharf_\w+)"`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("agent token: %d %s %s", code, out, errOut)
	}
	tokenFile := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tokenFile, []byte(m[1]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.agentEnv = append(common, "WHARF_AGENT_SERVER="+gw, "WHARF_AGENT_TOKEN_FILE="+tokenFile,
		"WHARF_AGENT_DRAIN_DELAY=1500ms", "WHARF_AGENT_HEALTH_TIMEOUT=8s")
	for id, room := range map[string]string{"a1": "bj", "a2": "bj", "a3": "sh"} {
		c.startAgentProc(id, room)
	}

	bin := buildSampleApp(t, t.TempDir())
	push := func(version, extra string) {
		t.Helper()
		if out, errOut, code := runWharf(t, dir, c.env, "push", bundleDir(t, bin, extra), "--version", version); code != 0 {
			t.Fatalf("push %s: %s %s", version, out, errOut)
		}
	}
	push("1.0.0", "")
	push("2.0.0", "")
	push("3.0.0", "env:\n  BROKEN: \"1\"\n")
	push("4.0.0", "env:\n  STARTUP_DELAY: 20s\n")
	push("5.0.0", "env:\n  FAIL_REQUESTS: \"1\"\n")

	// The hosts' agents have reported in.
	testenv.Eventually(t, 15*time.Second, func() error {
		r := call(t, "GET", gw+"/api/v1/agents/hosts", admin, nil)
		if r.status != 200 || strings.Count(r.raw, `"id"`) < 3 {
			return fmt.Errorf("hosts: %d %s", r.status, r.raw)
		}
		return nil
	})

	// 1.0.0 everywhere, all at once (the app's first deploy: every live host).
	start := time.Now()
	v := c.deployJSON("deploy", "shop", "1.0.0", "--max-unavailable", "100%")
	v = c.waitDeploy(v.ID, 60*time.Second)
	if v.State != "succeeded" {
		t.Fatalf("first deploy: %s %s", v.State, v.Summary.Error)
	}
	t.Logf("deploy 1.0.0 to 3 hosts (all at once): %v", time.Since(start).Round(100*time.Millisecond))

	load := startTraffic(t, gw+"/shop/", 4)
	testenv.Eventually(t, 5*time.Second, func() error {
		if load.total.Load() < 50 {
			return fmt.Errorf("traffic not flowing yet")
		}
		return nil
	})
	if vs, fails := load.snapshot(); len(fails) > 0 || vs["1.0.0"] == 0 {
		t.Fatalf("before the canary: %v, failures %v", vs, fails)
	}

	// Canary 2.0.0 under load: 1 host, then 2, then all 3.
	start = time.Now()
	v = c.deployJSON("deploy", "shop", "2.0.0", "--strategy", "canary", "--steps", "34,67,100", "--pause", "2s")
	v = c.waitDeploy(v.ID, 120*time.Second)
	took := time.Since(start)
	c.waitRetired("1.0.0", "a1", "a2", "a3") // the old instances drain after the last step
	vs, fails := load.snapshot()
	t.Logf("canary 2.0.0 (34/67/100 %%, 2 s pauses) under load: %s in %v, answers by version %v, %d failed",
		v.State, took.Round(100*time.Millisecond), vs, len(fails))
	if v.State != "succeeded" || len(fails) > 0 {
		t.Fatalf("canary: %s %s; failures: %v", v.State, v.Summary.Error, fails)
	}
	if vs["2.0.0"] == 0 || vs["1.0.0"] == 0 {
		t.Fatalf("the canary should have served both versions: %v", vs)
	}
	if in := c.instances(); len(in) != 1 || len(in["2.0.0"]) != 6 || !strings.Contains(strings.Join(in["2.0.0"], ","), "sh") {
		t.Fatalf("after the canary every instance in both rooms runs 2.0.0: %v", in)
	}
	load.waitRequests(t, 50)
	if vs, fails := load.snapshot(); len(vs) != 1 || vs["2.0.0"] == 0 || len(fails) > 0 {
		t.Fatalf("traffic after the canary: %v %v", vs, fails)
	}

	// A broken version: its first step fails its health check and is rolled
	// back; it never gets traffic.
	start = time.Now()
	v = c.deployJSON("deploy", "shop", "3.0.0", "--strategy", "canary", "--steps", "34,100")
	v = c.waitDeploy(v.ID, 90*time.Second)
	vs, fails = load.snapshot()
	t.Logf("broken 3.0.0: %s in %v (%s); answers by version %v, %d failed", v.State, time.Since(start).Round(100*time.Millisecond), v.Summary.Error, vs, len(fails))
	if v.State != "rolled_back" || vs["3.0.0"] != 0 || len(fails) > 0 {
		t.Fatalf("broken deploy: %s, answers %v, failures %v", v.State, vs, fails)
	}
	moved := 0
	for _, tg := range v.Targets {
		if tg.Moved {
			moved++
		}
	}
	if moved != 1 {
		t.Fatalf("only the first canary step's host may have been touched, got %d", moved)
	}
	// The hosts it never reached are skipped, not pending, and the status
	// table shows the broken host's log (issue 12).
	out, errOut, code = runWharf(t, dir, c.env, "deploy", "status", v.ID)
	if code != 0 || strings.Count(out, " skipped ") != 2 || strings.Contains(out, " pending ") ||
		!strings.Contains(out, "log tail of task 1 (failed)") || !strings.Contains(out, "| listening on ") {
		t.Fatalf("status of the broken deploy (exit %d):\n%s%s", code, out, errOut)
	}

	// A version that passes its health check but fails requests: the
	// error-rate gate, measured at the gateway, rolls it back after its
	// first step.
	start = time.Now()
	v = c.deployJSON("deploy", "shop", "5.0.0", "--steps", "34,100", "--error-rate-max", "0.2", "--gate-window", "5s")
	v = c.waitDeploy(v.ID, 90*time.Second)
	var canaries []string
	for _, tg := range v.Targets {
		if tg.Moved {
			canaries = append(canaries, tg.Host)
		}
	}
	c.waitRetired("5.0.0", canaries...) // rolled back: 5.0.0's instances drained and stopped
	vs, fails = load.snapshot()
	t.Logf("5.0.0 failing its requests: %s in %v (%s); answers by version %v, %d failed (the canary host's share during the gate window)",
		v.State, time.Since(start).Round(100*time.Millisecond), v.Summary.Error, vs, len(fails))
	if v.State != "rolled_back" || !strings.Contains(v.Summary.Error, "error rate") {
		t.Fatalf("error-rate gate: %s %q", v.State, v.Summary.Error)
	}
	for _, f := range fails {
		if !strings.Contains(f, "500 5.0.0 fails on purpose") {
			t.Fatalf("unexpected failure during the gated step: %s", f)
		}
	}
	load.waitRequests(t, 50)
	if vs, fails := load.snapshot(); len(vs) != 1 || vs["2.0.0"] == 0 || len(fails) > 0 {
		t.Fatalf("traffic after the gate rolled 5.0.0 back: %v %v", vs, fails)
	}

	// An agent killed mid-deploy: its target fails within 15 s.
	v = c.deployJSON("deploy", "shop", "4.0.0", "--max-unavailable", "100%", "--hosts", "a3")
	testenv.Eventually(t, 20*time.Second, func() error {
		s := c.deployJSON("deploy", "status", v.ID)
		if len(s.Targets) != 1 || s.Targets[0].State != "starting" {
			return fmt.Errorf("a3 not starting yet: %+v", s.Targets)
		}
		return nil
	})
	_ = c.agents["a3"].cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	<-c.agents["a3"].done
	var lostAfter time.Duration
	testenv.Eventually(t, 25*time.Second, func() error {
		s := c.deployJSON("deploy", "status", v.ID)
		if s.Targets[0].State != "failed" && s.Targets[0].State != "rolling_back" && !s.Done() {
			return fmt.Errorf("a3 target is %s", s.Targets[0].State)
		}
		lostAfter = time.Since(killed)
		return nil
	})
	t.Logf("agent a3 killed mid-deploy: its target failed %v later", lostAfter.Round(100*time.Millisecond))
	if lostAfter > 15*time.Second {
		t.Fatalf("the lost agent's target failed after %v (> 15 s)", lostAfter)
	}
	// It comes back: it serves again, on the version it ran before.
	c.startAgentProc("a3", "sh")
	testenv.Eventually(t, 60*time.Second, func() error {
		in := c.instances()
		if len(in["2.0.0"]) != 6 || len(in) != 1 {
			return fmt.Errorf("instances after a3's restart: %v", in)
		}
		return nil
	})
	v = c.waitDeploy(v.ID, 30*time.Second)
	t.Logf("deploy with the killed agent ended %s: %s", v.State, v.Summary.Error)
	load.waitRequests(t, 100)
	load.end()
	vs, fails = load.snapshot()
	t.Logf("traffic after the agent's restart: %v, failed %d; requests in all: %d", vs, len(fails), load.total.Load())
	if len(fails) > 0 || vs["4.0.0"] != 0 {
		t.Fatalf("traffic while the agent was lost and back: %v, failures %v", vs, fails)
	}

	for id, p := range c.agents {
		if code := p.stop(20 * time.Second); code != 0 {
			t.Errorf("agent %s exit %d", id, code)
		}
	}
	if in := c.instances(); len(in) != 0 {
		t.Fatalf("stopped agents must deregister their instances: %v", in)
	}
	for id, d := range c.agentDir {
		if pids := pidsUnder(d); len(pids) != 0 {
			t.Errorf("agent %s stopped but its app instances %v still run", id, pids)
		}
	}
}

// TestServeDeployTour is the README's deploy tour on `wharf serve` alone:
// its local agent runs the pushed app, a canary upgrade and a rollback go
// through the CLI, and the gateway serves each version in turn.
func TestServeDeployTour(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wharf.yaml")
	if err := os.WriteFile(cfg, []byte("services:\n  - name: shop\nroutes:\n  - {name: shop, path: /shop, service: shop}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killUnder(dir) })
	p := startWharf(t, dir, []string{"WHARF_AGENT_DRAIN_DELAY=500ms"}, append(serveArgs(t), "--config", cfg)...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	p.waitFor(reToken, 5*time.Second)
	env := []string{"WHARF_SERVER=" + gw}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runWharf(t, dir, env, args...)
		if code != 0 {
			t.Fatalf("wharf %v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	bin := buildSampleApp(t, t.TempDir())
	run("push", bundleDir(t, bin, ""), "--version", "1.0.0")
	run("push", bundleDir(t, bin, ""), "--version", "1.1.0")
	// The local agent reports in within a heartbeat.
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, errOut, code := runWharf(t, dir, env, "deploy", "shop", "1.0.0", "--watch"); code != 0 {
			return fmt.Errorf("deploy: %s", errOut)
		}
		return nil
	})
	serves := func(want string) {
		t.Helper()
		testenv.Eventually(t, 5*time.Second, func() error {
			if code, body := get(t, gw+"/shop/"); code != 200 || !strings.HasPrefix(body, want+" ") {
				return fmt.Errorf("GET /shop/: %d %q, want version %s", code, body, want)
			}
			return nil
		})
	}
	serves("1.0.0")
	if out := run("deploy", "shop", "1.1.0", "--steps", "50,100", "--pause", "1s", "--watch"); !strings.Contains(out, "succeeded") {
		t.Fatalf("canary:\n%s", out)
	}
	serves("1.1.0")
	if out := run("rollback", "shop", "--watch"); !strings.Contains(out, "back to 1.0.0") {
		t.Fatalf("rollback:\n%s", out)
	}
	serves("1.0.0")
	hist := run("deploys", "shop")
	if lines := readLines(hist); len(lines) != 4 || !strings.Contains(lines[1], "(rollback)") {
		t.Fatalf("deploys:\n%s", hist)
	}
	if n := len(pidsUnder(dir)); n != 2 {
		t.Fatalf("the local agent should run 2 app instances, found %d", n)
	}
	if code := p.stop(20 * time.Second); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	if pids := pidsUnder(dir); len(pids) != 0 {
		t.Fatalf("app instances %v still run after serve stopped", pids)
	}
}
