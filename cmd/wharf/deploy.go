package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/functions/deploy"
	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/gateway/traffic"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/runner/agent"
)

// background is a goroutine with its own stop: cancel, then wait for it.
type background struct {
	cancel context.CancelFunc
	once   sync.Once
	err    error
	ended  chan struct{}
}

func runBackground(ctx context.Context, f func(ctx context.Context) error) *background {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	bg := &background{cancel: cancel, ended: make(chan struct{})}
	go func() {
		bg.err = f(ctx)
		close(bg.ended)
	}()
	return bg
}

// stop ends the goroutine and waits for it until ctx ends; it may be
// called more than once.
func (bg *background) stop(ctx context.Context) error {
	bg.once.Do(bg.cancel)
	select {
	case <-bg.ended:
		return bg.err
	case <-ctx.Done():
		return fmt.Errorf("cannot stop in time: %w", ctx.Err())
	}
}

// startDeploy registers the deploy function on mux and runs its driver and
// event consumer until the returned background is stopped.
func (b *base) startDeploy(ctx context.Context, mux *fnapi.Mux, st store.Store, outbox *bus.Outbox, producer *bus.Producer, nsqd, lookupd []string) (*background, error) {
	fn, err := deploy.New(deploy.Options{Store: st, Outbox: outbox, Producer: producer, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd, BusSecurity: b.nsqSec,
		Gate: trafficGate{traffic.NewReader(st)}, Logger: logging.Component(b.log, "deploy"), Metrics: b.metrics})
	if err != nil {
		return nil, err
	}
	if err := mux.Register(fn); err != nil {
		return nil, err
	}
	bg := runBackground(ctx, func(ctx context.Context) error {
		if err := fn.Run(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("deploy driver stopped", "err", err)
			return err
		}
		return nil
	})
	return bg, nil
}

// trafficGate measures a deploy step's new version at the gateways: the
// requests every gateway node proxied to it (gateway/traffic) in the
// step's window.
type trafficGate struct{ r *traffic.Reader }

// flushLag is how long after a second the gateways have written it.
const flushLag = 2 * time.Second

// Sample implements deploy.GateSource.
func (g trafficGate) Sample(ctx context.Context, app, version string, w plan.Window) (plan.GateSample, bool, error) {
	if time.Now().Before(w.To.Add(flushLag)) {
		return plan.GateSample{}, false, nil
	}
	c, err := g.r.Sum(ctx, app, version, w.From, w.To)
	if err != nil {
		return plan.GateSample{}, false, err
	}
	s := plan.GateSample{Step: w.Step, Requests: int(c.Requests)}
	if c.Requests > 0 {
		s.ErrorRate = float64(c.Errors) / float64(c.Requests)
	}
	return s, true, nil
}

// startAgent runs a deploy agent for this host until the returned
// background is stopped: it deregisters its instances, then stops them.
func (b *base) startAgent(ctx context.Context, server, token string, nsqd, lookupd []string) (*background, error) {
	o := b.opts.Agent
	api, err := apiclient.New(server, token)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the control plane: %w", err)
	}
	id := o.ID
	if id == "" {
		id = hostID()
	}
	if agent.Isolated(o.RunAs) {
		if err := lockDataDir(b.opts.DataDir); err != nil {
			return nil, err
		}
		for _, f := range []string{o.TokenFile, b.opts.Monitoring.FeedTokenFile, b.opts.NSQ.AuthSecretFile, b.opts.NSQ.TLSKeyFile} {
			if was, err := privateTokenFile(f); err != nil {
				return nil, err
			} else if was != 0 {
				b.log.Warn("a credential file could be read by other users, deployed apps among them: made it private",
					"file", f, "was", fmt.Sprintf("%04o", was))
			}
		}
	}
	sink, err := b.feedSink(server)
	if err != nil {
		return nil, err
	}
	a, err := agent.New(agent.Options{HostID: id, Room: o.Room, Labels: o.Labels, Version: version,
		DataDir: filepath.Join(b.opts.DataDir, "agent"), API: api, NSQDAddrs: nsqd, LookupdHTTPAddrs: lookupd, BusSecurity: b.nsqSec,
		AdvertiseHost: o.Advertise, DrainDelay: o.DrainDelay, HealthTimeout: o.HealthTimeout, Logger: logging.Component(b.log, "agent"),
		RunAs: o.RunAs, AppUIDBase: o.AppUIDBase, AppUIDCount: o.AppUIDCount, PortMin: o.PortMin, PortMax: o.PortMax, AppsDir: o.AppsDir, Metrics: b.metrics,
		Feed: sink, FeedStep: b.opts.Monitoring.MinStep, ConfigServers: []string{server}, ConfigToken: token})
	if err != nil {
		return nil, err
	}
	b.log.Info("deploy agent starting", "host", id, "room", o.Room, "labels", o.Labels)
	return runBackground(ctx, a.Run), nil
}

// lockDataDir readies the data dir for an agent whose apps run as other
// users: they must cross it to reach <data-dir>/agent/apps, so it becomes
// 0711 (crossable, not listable) and everything else in it (tokens,
// store, outbox, nsqd, artifacts) loses its group and other bits; from
// now on the process creates files for its user only (umask 077).
func lockDataDir(dir string) error {
	syscall.Umask(0o077)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("cannot create data dir: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return fmt.Errorf("cannot lock the data dir down: %w", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot lock the data dir down: %w", err)
	}
	for _, e := range ents {
		if e.Name() == "agent" || e.Type()&os.ModeSymlink != 0 {
			continue // the agent locks its own dir down
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("cannot lock the data dir down: %w", err)
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), fi.Mode().Perm()&^0o077); err != nil {
			return fmt.Errorf("cannot lock the data dir down: %w", err)
		}
	}
	return nil
}

// hostID is the hostname made into a host id (letters, digits, '.', '-',
// '_'; at most 52 bytes, so that deploy.host.<id> is a valid NSQ topic),
// or "local".
func hostID() string {
	h, err := os.Hostname()
	if err != nil {
		return "local"
	}
	h = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, h)
	if len(h) > 52 {
		h = h[:52]
	}
	if strings.Trim(h, "-_.") == "" {
		return "local"
	}
	return h
}

// agentToken is the token of serve's local agent, kept in
// <data-dir>/agent.token (or agent.token_file) across restarts.
func (b *base) agentToken(ctx context.Context, tokens *auth.Service) (string, error) {
	file := b.opts.Agent.TokenFile
	if file == "" {
		file = filepath.Join(b.opts.DataDir, "agent.token")
	}
	tok, err := tokens.LocalToken(ctx, file, "local-agent", auth.ScopeAgent)
	if err != nil {
		return "", fmt.Errorf("cannot create the local agent's token: %w", err)
	}
	return tok, nil
}

// readTokenFile reads an agent token from its file.
func readTokenFile(file string) (string, error) {
	if file == "" {
		return "", fmt.Errorf("the agent needs a token: set agent.token_file (--agent-token-file or WHARF_AGENT_TOKEN_FILE) to a file holding an agent-scope token (wharf token create --name NAME --scope agent)")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("cannot read the agent token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("the agent token file %s is empty", file)
	}
	return tok, nil
}

// privateTokenFile makes a token file that users other than its owner can
// read or write private (deployed apps run as other users: such a file
// would hand them the agent's credentials). It returns the mode it had
// when it changed it, 0 when there was nothing to do.
func privateTokenFile(path string) (os.FileMode, error) {
	if path == "" {
		return 0, nil
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return 0, nil // a missing file is reported where it is read
	}
	if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil {
		return 0, fmt.Errorf("the credential file %s can be read by other users, deployed apps among them, and cannot be made private: %w", path, err)
	}
	return fi.Mode().Perm(), nil
}
