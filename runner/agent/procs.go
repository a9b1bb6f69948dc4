package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/client/config"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/runner/agent/release"
	"github.com/wharfhq/wharf/runner/agent/supervise"
)

// webProcess is the manifest process that serves HTTP and is registered.
const webProcess = "web"

// stopExtra is added to a process's stop grace to bound Stop.
const stopExtra = 15 * time.Second

// gen is one start of an app's release: its processes. Its fields are
// set before it is shared and read-only after.
type gen struct {
	app, version, sha string
	dir               string
	cred              *syscall.Credential // the user its processes run as; nil: the agent's
	m                 *bundle.Manifest
	procs             []*proc
}

// proc is one supervised process of a gen.
type proc struct {
	app     string
	name    string // supervise name, also the log file's
	process string // manifest process name
	web     bool
	port    int
	id      string // registry instance id (web)
	addr    string // advertised host:port (web)
	p       *supervise.Process

	mu         sync.Mutex // serialises registry calls; guards the fields below
	registered bool
	pgid       int // the group recorded in the state file
	cpuTicks   uint64
	cpuAt      time.Time
}

// taskError is a failed step: what to report and the log tail.
type taskError struct {
	msg  string
	tail string
}

func (e *taskError) Error() string { return e.msg }

func failf(tail string, format string, args ...any) *taskError {
	return &taskError{msg: fmt.Sprintf(format, args...), tail: tail}
}

// running reports whether every process of g runs.
func (g *gen) running() bool {
	for _, p := range g.procs {
		if !p.p.Status().Running() {
			return false
		}
	}
	return len(g.procs) > 0
}

// addrs returns the web instances' advertised addresses.
func (g *gen) addrs() []string {
	var out []string
	for _, p := range g.procs {
		if p.web {
			out = append(out, p.addr)
		}
	}
	return out
}

// exited returns a process of g that exited since it started, or nil.
func (g *gen) exited() *proc {
	for _, p := range g.procs {
		st := p.p.Status()
		if !st.Running() || st.Restarts > 0 || !st.ExitedAt.IsZero() {
			return p
		}
	}
	return nil
}

// tail returns the end of p's log, prefixed with its name.
func (p *proc) tail() string {
	lines, err := p.p.LogTail(wire.MaxLogLines)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return "[" + p.name + "]\n" + strings.Join(lines, "\n")
}

// startGen starts rel: pre_start hook, ports, Activate, processes, health,
// registration, post_start hook. On failure everything it started is
// stopped and deregistered again; the caller sets current back. The error
// is a *taskError, or ctx's error when ctx ended. When restoring (after
// an agent restart) a registration that fails is left to the instance
// heartbeats to retry, so that an API outage does not keep a host from
// running its apps.
func (a *Agent) startGen(ctx context.Context, rel release.Release, restoring bool) (*gen, error) {
	m := rel.Manifest
	g := &gen{app: rel.App, version: rel.Version, sha: rel.SHA256, dir: rel.Dir, m: m}
	logDir := filepath.Join(a.opts.DataDir, logsDirName, rel.App)
	env := appEnv(m, rel.App, rel.Version, rel.Dir)
	cred, err := a.credential(rel.App)
	if err != nil {
		return nil, failf("", "%v", err)
	}
	if err := grant(rel, cred); err != nil {
		return nil, failf("", "%v", err)
	}
	g.cred = cred
	cfgDir, err := a.watchConfig(rel, cred)
	if err != nil {
		return nil, failf("", "%v", err)
	}
	if cfgDir != "" {
		env = append(env, config.EnvConfigDir+"="+cfgDir)
	}
	if m.Hooks.PreStart != "" {
		if err := a.hook(ctx, g, "pre_start", m.Hooks.PreStart, env, logDir); err != nil {
			return nil, err
		}
	}
	nweb := 0
	if _, ok := m.Processes[webProcess]; ok {
		nweb = max(m.Instances, 1)
	}
	ports, err := a.ports.take(nweb)
	if err != nil {
		return nil, failf("", "cannot allocate ports: %v", err)
	}
	if _, err := a.rel.Activate(rel.App, rel.Version); err != nil {
		a.ports.give(ports...)
		return nil, failf("", "%v", err)
	}
	if err := a.startProcs(g, ports, env, logDir); err != nil {
		a.ports.give(ports[len(g.webPorts()):]...) // those no process got
		a.stopGens([]*gen{g})
		return nil, err
	}
	if err := a.waitHealthy(ctx, g); err != nil {
		a.stopGens([]*gen{g})
		return nil, err
	}
	for _, p := range g.procs {
		if !p.web {
			continue
		}
		if err := a.register(p, g.version, restoring); err != nil {
			a.deregisterAll([]*gen{g})
			a.stopGens([]*gen{g})
			return nil, failf("", "cannot register instance %s (%s): %v", p.id, p.addr, err)
		}
	}
	if m.Hooks.PostStart != "" {
		if err := a.hook(ctx, g, "post_start", m.Hooks.PostStart, env, logDir); err != nil {
			a.deregisterAll([]*gen{g})
			a.stopGens([]*gen{g})
			return nil, err
		}
	}
	return g, nil
}

// hook runs one of g's hooks in its release directory.
func (a *Agent) hook(ctx context.Context, g *gen, which, cmd string, env []string, logDir string) error {
	spec := supervise.HookSpec{
		Name: safeName(g.version) + "." + which, Command: cmd, Dir: g.dir, Env: env,
		LogDir: logDir, TailLines: wire.MaxLogLines, Credential: g.cred,
	}
	_, tail, err := supervise.RunHook(ctx, spec, supervise.Options{Logger: a.opts.Logger})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return failf(strings.Join(tail, "\n"), "hook %s failed: %v", which, err)
}

// startProcs starts every process of g's manifest: web once per port.
func (a *Agent) startProcs(g *gen, ports []int, env []string, logDir string) error {
	m := g.m
	sig := stopSignal(m.StopSignal)
	grace := m.StopGrace.D()
	if grace <= 0 {
		grace = time.Millisecond // an explicit 0s: no grace (supervise reads 0 as its default)
	}
	taken := a.liveNames(g.app)
	for _, name := range slices.Sorted(maps.Keys(m.Processes)) {
		n := 1
		if name == webProcess {
			n = len(ports)
		}
		for i := range n {
			p := &proc{app: g.app, process: name, web: name == webProcess}
			penv := slices.Clone(env)
			instance := a.opts.HostID + "." + g.app + "." + name
			if p.web {
				p.port = ports[i]
				p.id = a.instanceID(g.app, p.port)
				p.addr = net.JoinHostPort(a.opts.AdvertiseHost, strconv.Itoa(p.port))
				instance = p.id
			}
			penv = append(penv, "WHARF_INSTANCE="+instance)
			if p.web {
				penv = append(penv, "PORT="+strconv.Itoa(p.port))
			}
			p.name = uniqueName(fmt.Sprintf("%s.%s.%d", safeName(g.version), name, i), taken)
			taken[p.name] = true
			sp, err := supervise.Start(a.procCtx, supervise.Spec{
				Name: p.name, Command: m.Processes[name], Dir: g.dir, Env: penv,
				StopSignal: sig, StopGrace: grace, LogDir: logDir, Credential: g.cred,
				OnLine: a.logs.lineFunc(g.app, instance, name),
			}, supervise.Options{Logger: a.opts.Logger})
			if err != nil {
				return failf("", "cannot start process %s: %v", name, err)
			}
			p.p = sp
			g.procs = append(g.procs, p)
			if pid := sp.Status().PID; pid > 0 {
				p.pgid = pid
				a.trackGroup(groupRecord{App: g.app, Name: p.name, PGID: pid, Start: procStart(pid)})
			}
		}
	}
	return nil
}

// liveNames returns the supervise names in use by app's running gens.
func (a *Agent) liveNames(app string) map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	taken := map[string]bool{}
	if ar := a.apps[app]; ar != nil {
		for _, g := range append([]*gen{ar.cur}, ar.retiring...) {
			if g == nil {
				continue
			}
			for _, p := range g.procs {
				taken[p.name] = true
			}
		}
	}
	return taken
}

func uniqueName(base string, taken map[string]bool) string {
	name := base
	for i := 1; taken[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

// safeName maps a version to a supervise name part ('+' is not allowed).
func safeName(v string) string { return strings.ReplaceAll(v, "+", "_") }

// instanceID is the registry id of app's web instance on port: host,
// app and port (the host id is hashed if the whole would pass 128 bytes).
func (a *Agent) instanceID(app string, port int) string {
	host := a.opts.HostID
	id := fmt.Sprintf("%s.%s.%d", host, app, port)
	if len(id) > 128 {
		sum := sha256.Sum256([]byte(host))
		id = fmt.Sprintf("%s.%s.%d", hex.EncodeToString(sum[:8]), app, port)
	}
	return id
}

// appEnv is the environment of an app's processes and hooks (added to
// supervise's PATH): HOME (the release dir, not the agent's home), the
// manifest's env (sorted), WHARF_APP and WHARF_VERSION. Nothing of the
// agent's own environment — its token or any other credential — is
// passed on.
func appEnv(m *bundle.Manifest, app, version, dir string) []string {
	env := make([]string, 0, len(m.Env)+3)
	env = append(env, "HOME="+dir)
	for _, k := range slices.Sorted(maps.Keys(m.Env)) {
		env = append(env, k+"="+m.Env[k])
	}
	return append(env, "WHARF_APP="+app, "WHARF_VERSION="+version)
}

// stopSignal maps a manifest's stop_signal to a signal (SIGTERM default).
func stopSignal(name string) syscall.Signal {
	switch name {
	case "SIGINT":
		return syscall.SIGINT
	case "SIGQUIT":
		return syscall.SIGQUIT
	case "SIGHUP":
		return syscall.SIGHUP
	case "SIGKILL":
		return syscall.SIGKILL
	case "SIGUSR1":
		return syscall.SIGUSR1
	case "SIGUSR2":
		return syscall.SIGUSR2
	}
	return syscall.SIGTERM
}

// stopGens stops every process of gens in parallel, each with its
// manifest's stop signal and grace, and forgets their process groups.
func (a *Agent) stopGens(gens []*gen) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var pgids []int
	for _, g := range gens {
		grace := max(g.m.StopGrace.D(), 0) + stopExtra
		for _, p := range g.procs {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), grace)
				defer cancel()
				if err := p.p.Stop(ctx); err != nil {
					a.log.Error("cannot stop process", "app", p.app, "process", p.name, "err", err)
					return
				}
				p.mu.Lock()
				pgid := p.pgid
				p.mu.Unlock()
				mu.Lock()
				pgids = append(pgids, pgid)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	a.untrackGroups(pgids...)
	for _, g := range gens {
		a.ports.give(g.webPorts()...)
	}
}

// webPorts returns the ports of g's web processes.
func (g *gen) webPorts() []int {
	var out []int
	for _, p := range g.procs {
		if p.web {
			out = append(out, p.port)
		}
	}
	return out
}

// refreshGroups records the new process group of children that
// supervise restarted after a crash.
func (a *Agent) refreshGroups(gens []*gen) {
	changed := false
	for _, g := range gens {
		for _, p := range g.procs {
			pid := p.p.Status().PID
			p.mu.Lock()
			old := p.pgid
			if pid > 0 && pid != old {
				p.pgid = pid
			}
			p.mu.Unlock()
			if pid <= 0 || pid == old {
				continue
			}
			rec := groupRecord{App: p.app, Name: p.name, PGID: pid, Start: procStart(pid)}
			a.mu.Lock()
			found := false
			for i := range a.st.Groups {
				if a.st.Groups[i].PGID == old && a.st.Groups[i].Name == p.name {
					a.st.Groups[i], found = rec, true
				}
			}
			if !found {
				a.st.Groups = append(a.st.Groups, rec)
			}
			a.mu.Unlock()
			changed = true
		}
	}
	if changed {
		a.saveOrLog()
	}
}
