package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/s3blob"
	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/store"
)

// role describes one multi-node role: what it needs and what it serves.
type role struct {
	name  string
	short string
	// groups are the option groups shown as flags.
	groups []string
	needs  struct{ redis, nsqd, minio, http bool }
}

func roles() []role {
	common := []string{"data_dir", "shutdown_grace", "log", "internal", "redis", "nsq"}
	mk := func(name, short string, extra []string, redis, nsqd, minio, http bool) role {
		r := role{name: name, short: short, groups: append(append([]string{}, common...), extra...)}
		r.needs.redis, r.needs.nsqd, r.needs.minio, r.needs.http = redis, nsqd, minio, http
		return r
	}
	return []role{
		mk("gateway", "Run the edge gateway (needs Redis and nsqd)", []string{"gateway"}, true, true, false, true),
		mk("functions", "Run the function handlers (needs Redis, nsqd and MinIO)", []string{"gateway", "minio", "artifacts"}, true, true, true, true),
		mk("judge", "Run the alarm judge consumer (needs Redis and nsqd)", nil, true, true, false, false),
		mk("notify", "Run the alarm notify consumer (needs Redis and nsqd)", nil, true, true, false, false),
		mk("agent", "Run the deploy agent on an app host (needs nsqd)", []string{"agent"}, false, true, false, false),
	}
}

func newRoleCmd(r role, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   r.name,
		Short: r.short,
		Long: r.short + `.

The role checks every dependency at start and exits naming the one it cannot
reach. Once started it keeps running and reports not-ready on /ready while a
dependency is down.`,
		Args: cobra.NoArgs,
	}
	loader := config.Bind(cmd.Flags(), r.groups...)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts, err := loader.Load(os.Environ())
		if err != nil {
			return err
		}
		return runRole(cmd.Context(), r, opts, loader.File(), stdout, stderr)
	}
	return cmd
}

func runRole(ctx context.Context, r role, opts config.Options, configFile string, stdout, stderr io.Writer) error {
	b, err := newBase(opts, configFile, stderr, r.name)
	if err != nil {
		return err
	}
	log := b.log
	var st store.Store
	if r.needs.redis {
		rs, err := b.openRedis(ctx)
		if err != nil {
			return b.abort(err)
		}
		st = rs
	}
	down := &shutdown{log: log}
	down.add("fail readiness", func(context.Context) error { b.ops.SetDraining(); return nil })
	var closeLater []func(context.Context) error
	var producer *bus.Producer
	if r.needs.nsqd {
		p, err := b.openProducer(ctx)
		if err != nil {
			return b.abort(err)
		}
		producer = p
		if err := b.checkLookupd(ctx); err != nil {
			return b.abort(err)
		}
		closeLater = append(closeLater, func(context.Context) error { return p.Close() })
	}
	var blobs blob.Backend
	if r.needs.minio {
		if _, err := b.openMinIO(ctx); err != nil {
			return b.abort(err)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		s3, err := s3blob.New(cctx, s3blob.FromConfig(opts.MinIO))
		cancel()
		if err != nil {
			return b.abort(depError("minio", opts.MinIO.Endpoint, err))
		}
		blobs = s3
	}
	var stopLater []func(context.Context) error
	// Consumers find nsqd through nsqlookupd when there is one; connecting
	// to the same nsqd directly as well would be a second connection.
	consumeFrom := opts.NSQ.NSQD
	if len(opts.NSQ.Lookupd) > 0 {
		consumeFrom = nil
	}
	if r.name == "agent" {
		token, err := readTokenFile(opts.Agent.TokenFile)
		if err != nil {
			return b.abort(err)
		}
		if opts.Agent.Server == "" {
			return b.abort(fmt.Errorf("the agent needs the control plane's URL: set agent.server (--agent-server or WHARF_AGENT_SERVER)"))
		}
		ag, err := b.startAgent(ctx, opts.Agent.Server, token, opts.NSQ.NSQD, opts.NSQ.Lookupd)
		if err != nil {
			return b.abort(err)
		}
		b.onUndo(func() { _ = ag.stop(context.Background()) })
		down.add("stop the agent (deregister, then stop its instances)", ag.stop)
	}
	var listen string
	if r.needs.http {
		tokens := auth.NewService(st)
		tokenFile := filepath.Join(opts.DataDir, "admin.token")
		first, err := tokens.Bootstrap(ctx, tokenFile)
		if err != nil {
			return b.abort(fmt.Errorf("cannot create the first admin token: %w", err))
		}
		if first != "" {
			fmt.Fprintf(stdout, "First start of this cluster: an admin token was created. It is shown only this once and saved to %s (mode 0600):\n\n  %s\n\n", tokenFile, first)
		}
		mux := fnapi.NewMux(tokens, logging.Component(log, "functions"))
		if err := mux.Register(admin.New(tokens, admin.Options{Version: version})); err != nil {
			return b.abort(err)
		}
		if blobs != nil {
			if err := b.registerArtifacts(ctx, mux, blobs, st); err != nil {
				return b.abort(err)
			}
		}
		stats, err := b.wireEdge(ctx, st, mux)
		if err != nil {
			return b.abort(err)
		}
		if producer != nil {
			deployer, err := b.startDeploy(ctx, mux, st, nil, producer, consumeFrom, opts.NSQ.Lookupd)
			if err != nil {
				return b.abort(err)
			}
			b.onUndo(func() { _ = deployer.stop(context.Background()) })
			stopLater = append(stopLater, deployer.stop)
		}
		limits, err := b.startClusterLimits(ctx, r.name)
		if err != nil {
			return b.abort(err)
		}
		gw, err := b.startGateway(mux, st, stats, limits)
		if err != nil {
			return b.abort(err)
		}
		plainURL, httpsURL := gatewayURLs(gw, opts.Gateway)
		if plainURL != "" {
			listen = "http: " + plainURL
		}
		if httpsURL != "" {
			listen = strings.TrimPrefix(listen+", https: "+httpsURL, ", ")
		}
		down.add("stop accepting and drain in-flight requests", gw.Shutdown)
		down.add("end function calls still running", func(context.Context) error { mux.Close(); return nil })
	}
	for _, stop := range stopLater {
		down.add("stop consumers and the deploy driver", stop)
	}
	for i, c := range closeLater {
		down.add(fmt.Sprintf("flush and close producer %d", i+1), c)
	}
	if st != nil {
		down.add("close store", func(context.Context) error { return st.Close() })
	}
	down.add("stop internal listener", func(context.Context) error { b.stopOps(); return nil })

	var parts []string
	if listen != "" {
		parts = append(parts, listen)
	}
	parts = append(parts, "internal: "+displayURL(b.ops.Addr()))
	fmt.Fprintf(stdout, "Wharf %s is running (role %s). %s\n", version, r.name, strings.Join(parts, ", "))
	log.Info("started", "internal", b.ops.Addr().String())

	cause := waitForSignal(ctx, log, b.failed)
	if err := down.run(opts.ShutdownGrace); err != nil {
		return err
	}
	return cause
}
