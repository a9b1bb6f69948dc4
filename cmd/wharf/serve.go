package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/diskblob"
	"github.com/wharfhq/wharf/functions/admin"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run everything in one process on embedded defaults (no external services)",
		Long: `Run the gateway, functions, an in-process nsqd, the embedded buntdb store and
the disk artifact store in one process. Nothing external is needed.

On the first start an admin token is created, printed once and written to
<data-dir>/admin.token (mode 0600). Later starts reuse the data directory.

Shutdown on SIGINT/SIGTERM, within --shutdown-grace, in this order:
fail readiness, stop accepting and drain in-flight requests, stop consumers,
flush the outbox and producers, stop the embedded nsqd, close the store.`,
		Args: cobra.NoArgs,
	}
	loader := config.Bind(cmd.Flags(), "data_dir", "shutdown_grace", "log", "internal", "gateway", "nsq", "artifacts", "agent", "monitoring")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts, err := loader.Load(os.Environ())
		if err != nil {
			return err
		}
		return runServe(cmd.Context(), opts, loader.File(), stdout, stderr)
	}
	return cmd
}

func runServe(ctx context.Context, opts config.Options, configFile string, stdout, stderr io.Writer) error {
	if err := checkLocalAgent(opts); err != nil {
		return err
	}
	if opts.NSQ.Secured() {
		return fmt.Errorf("nsq.tls, nsq.tls_* and nsq.auth_secret_file secure the connections of roles (wharf gateway|functions|judge|notify|agent) to an external nsqd; wharf serve embeds nsqd without TLS or auth on nsq.embedded_tcp (%s): unset them", opts.NSQ.EmbeddedTCP)
	}
	b, err := newBase(opts, configFile, stderr, "serve")
	if err != nil {
		return err
	}
	log := b.log
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return b.abort(fmt.Errorf("cannot create data dir: %w", err))
	}
	st, err := buntstore.Open(buntstore.Options{Path: filepath.Join(opts.DataDir, "store.db"), Logger: log})
	if err != nil {
		return b.abort(fmt.Errorf("cannot open store in %s: %w", opts.DataDir, err))
	}
	b.onUndo(func() { _ = st.Close() })

	nsqd, err := bus.NewEmbedded(bus.EmbeddedOptions{
		DataDir: filepath.Join(opts.DataDir, "nsqd"), TCPAddr: opts.NSQ.EmbeddedTCP, HTTPAddr: opts.NSQ.EmbeddedHTTP,
		Logger: log,
	})
	if err != nil {
		return b.abort(err)
	}
	if err := nsqd.Start(ctx); err != nil {
		return b.abort(fmt.Errorf("cannot start embedded nsqd: %w", err))
	}
	b.onUndo(func() { _ = nsqd.Close() })
	producer, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.TCPAddr()}, Logger: log})
	if err != nil {
		return b.abort(err)
	}
	b.onUndo(func() { _ = producer.Close() })
	outbox, err := bus.NewOutbox(bus.OutboxOptions{
		Path: filepath.Join(opts.DataDir, "outbox.db"), Producer: producer,
		Logger: log, Metrics: b.metrics,
	})
	if err != nil {
		return b.abort(err)
	}
	b.onUndo(func() { _ = outbox.Close() })

	artifactDir := opts.Artifacts.Dir
	if artifactDir == "" {
		artifactDir = filepath.Join(opts.DataDir, "artifacts")
	}
	if err := os.MkdirAll(artifactDir, 0o750); err != nil {
		return b.abort(fmt.Errorf("cannot create artifact dir: %w", err))
	}
	disk, err := diskblob.New(diskblob.Options{Dir: artifactDir})
	if err != nil {
		return b.abort(fmt.Errorf("cannot open the artifact dir: %w", err))
	}
	b.onUndo(func() { _ = disk.Close() })

	tokens := auth.NewService(st)
	tokenFile := filepath.Join(opts.DataDir, "admin.token")
	firstToken, err := tokens.Bootstrap(ctx, tokenFile)
	if err != nil {
		return b.abort(fmt.Errorf("cannot create the first admin token: %w", err))
	}
	mux := fnapi.NewMux(tokens, logging.Component(log, "functions"))
	if err := mux.Register(admin.New(tokens, admin.Options{Version: version})); err != nil {
		return b.abort(err)
	}
	if err := b.registerArtifacts(ctx, mux, disk, st); err != nil {
		return b.abort(err)
	}
	stats, err := b.wireEdge(ctx, st, mux)
	if err != nil {
		return b.abort(err)
	}
	deployer, err := b.startDeploy(ctx, mux, st, outbox, producer, []string{nsqd.TCPAddr()}, nil)
	if err != nil {
		return b.abort(err)
	}
	b.onUndo(func() { _ = deployer.stop(context.Background()) })
	monitorRun, err := b.startMonitor(ctx, mux, producer, []string{nsqd.TCPAddr()}, nil)
	if err != nil {
		return b.abort(err)
	}
	b.onUndo(func() { _ = monitorRun.stop(context.Background()) })
	b.ops.AddCheck("store", st.Ping)
	b.ops.AddCheck("nsqd", producer.Ping)

	gw, err := b.startGateway(mux, st, stats, nil)
	if err != nil {
		return b.abort(err)
	}
	gwURL, httpsURL := gatewayURLs(gw, opts.Gateway)
	if gwURL == "" {
		gwURL = httpsURL
	}
	var localAgent *background
	if opts.Agent.Local {
		token, err := b.agentToken(ctx, tokens)
		if err != nil {
			return b.abort(err)
		}
		if localAgent, err = b.startAgent(ctx, gwURL, token, []string{nsqd.TCPAddr()}, nil); err != nil {
			return b.abort(err)
		}
		b.onUndo(func() { _ = localAgent.stop(context.Background()) })
	}
	fmt.Fprintf(stdout, "Wharf %s is running (serve: everything in one process).\n", version)
	fmt.Fprintf(stdout, "  gateway:  %s\n", gwURL)
	if httpsURL != "" {
		fmt.Fprintf(stdout, "  https:    %s\n", httpsURL)
	}
	fmt.Fprintf(stdout, "  internal: %s  (/health /ready /metrics /debug/pprof/)\n", displayURL(b.ops.Addr()))
	fmt.Fprintf(stdout, "  nsqd:     %s (tcp), %s (http)\n", nsqd.TCPAddr(), nsqd.HTTPAddr())
	fmt.Fprintf(stdout, "  data dir: %s\n", opts.DataDir)
	if localAgent != nil {
		fmt.Fprintf(stdout, "  agent:    this machine, room %s (deploys land in %s)\n", opts.Agent.Room, filepath.Join(opts.DataDir, "agent"))
	}
	if firstToken != "" {
		fmt.Fprintf(stdout, "\nFirst start: an admin token was created. It is shown only this once and saved to %s (mode 0600):\n\n  %s\n\n", tokenFile, firstToken)
		fmt.Fprintf(stdout, "Try:\n  curl -H \"Authorization: Bearer $(cat %s)\" %s/api/v1/whoami\n", tokenFile, gwURL)
	} else {
		fmt.Fprintf(stdout, "  admin token: in %s (created on the first start)\n", tokenFile)
	}
	log.Info("started", "gateway", gw.Addr().String(), "internal", b.ops.Addr().String(), "data_dir", opts.DataDir)

	cause := waitForSignal(ctx, log, b.failed)
	down := &shutdown{log: log}
	down.add("fail readiness", func(context.Context) error { b.ops.SetDraining(); return nil })
	if localAgent != nil {
		// Before the gateway: the agent deregisters its instances through it.
		down.add("stop the local agent (deregister, then stop its instances)", localAgent.stop)
	}
	down.add("stop accepting and drain in-flight requests", gw.Shutdown)
	down.add("end function calls still running", func(context.Context) error { mux.Close(); return nil })
	down.add("stop consumers and the deploy driver", deployer.stop)
	down.add("stop the series writer (consumers, then a checkpoint of the series stores)", monitorRun.stop)
	down.add("flush outbox", outbox.Flush)
	down.add("close outbox", func(context.Context) error { return outbox.Close() })
	down.add("flush and close producers", func(context.Context) error { return producer.Close() })
	down.add("stop embedded nsqd", func(context.Context) error { return nsqd.Close() })
	down.add("close store", func(context.Context) error { return st.Close() })
	down.add("close artifact dir", func(context.Context) error { return disk.Close() })
	down.add("stop internal listener", func(context.Context) error { b.stopOps(); return nil })
	if err := down.run(opts.ShutdownGrace); err != nil {
		return err
	}
	if cause != nil {
		return cause
	}
	return nil
}

// registerArtifacts adds the artifacts function over a blob backend with the
// configured quota, and runs retention and garbage collection every
// artifacts.gc_every until shutdown.
func (b *base) registerArtifacts(ctx context.Context, mux *fnapi.Mux, be blob.Backend, st store.Store) error {
	o := b.opts.Artifacts
	log := logging.Component(b.log, "artifacts")
	reserved := adminapi.NewReservations(edge.New(st, edge.Options{}), registry.New(st, registry.Options{}))
	fn, err := artifacts.New(artifacts.Options{Backend: be, Store: st, Quota: o.QuotaBytes, Logger: log, Reservations: reserved})
	if err != nil {
		return err
	}
	if err := mux.Register(fn); err != nil {
		return err
	}
	if o.GCEvery <= 0 {
		return nil
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		runArtifactGC(runCtx, fn, o, log)
	}()
	b.onUndo(func() { cancel(); <-done })
	return nil
}

// runArtifactGC applies retention (when keep_last is set) and collects
// garbage every o.GCEvery until ctx ends.
func runArtifactGC(ctx context.Context, fn *artifacts.Function, o config.ArtifactOptions, log *slog.Logger) {
	t := time.NewTicker(o.GCEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if o.KeepLast > 0 {
			if r, err := fn.Retain(ctx, o.KeepLast, o.DeployedWithin); err != nil {
				log.Warn("artifact retention failed", "err", err)
			} else {
				log.Info("artifact retention done", "result", r)
			}
		}
		if r, err := fn.GC(ctx); err != nil {
			log.Warn("artifact garbage collection failed", "err", err)
		} else {
			log.Info("artifact garbage collection done", "result", r)
		}
	}
}
