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
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/store"
)

func newServeCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run everything in one process on embedded defaults (no external services)",
		Long: `Run the gateway, functions, an in-process nsqd, the embedded buntdb store and
the disk artifact store in one process. Nothing external is needed.

On the first start an admin token is created, printed once and written to
<data-dir>/admin.token (mode 0600). Later starts reuse the data directory.

Shutdown on SIGINT/SIGTERM stops the components in the reverse order of
their start, each step within --shutdown-grace: fail readiness, stop the
local agent, drain the gateway and end function calls, stop the deploy
driver and consumers, flush and close the outbox and producer, stop the
embedded nsqd, close the store, stop the internal listener.`,
		Args: cobra.NoArgs,
	}
	loader := config.Bind(cmd.Flags(), "data_dir", "shutdown_grace", "log", "runtime", "internal", "gateway", "nsq", "artifacts", "agent", "monitoring", "notify", "config_service")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts, err := loader.Load(os.Environ())
		if err != nil {
			return err
		}
		return runServe(cmd.Context(), opts, loader.File(), stdout, stderr)
	}
	return cmd
}

// serveRole is serve as a role: every component, on embedded defaults.
func serveRole() role {
	r := role{name: "serve", embedded: true}
	r.needs.nsqd, r.needs.http = true, true
	return r
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
	w := &wiring{base: b, role: serveRole()}
	sig, stopSignals := notifySignals()
	defer stopSignals()
	running, err := startComponents(ctx, b.log, w.components(), opts.ShutdownGrace)
	if err != nil {
		return err
	}
	printServe(stdout, w)
	b.log.Info("started", "gateway", w.gw.Addr().String(), "internal", b.ops.Addr().String(), "data_dir", opts.DataDir)

	cause, release := waitForSignal(ctx, b.log, sig, b.failed)
	defer release()
	if err := running.stop(opts.ShutdownGrace); err != nil {
		return err
	}
	return cause
}

// printServe tells the person who ran serve where everything is.
func printServe(stdout io.Writer, w *wiring) {
	opts := w.opts
	gwURL, httpsURL := gatewayURLs(w.gw, opts.Gateway)
	if gwURL == "" {
		gwURL = httpsURL
	}
	fmt.Fprintf(stdout, "Wharf %s is running (serve: everything in one process).\n", version)
	fmt.Fprintf(stdout, "  gateway:  %s\n", gwURL)
	if httpsURL != "" {
		fmt.Fprintf(stdout, "  https:    %s\n", httpsURL)
	}
	fmt.Fprintf(stdout, "  internal: %s  (/health /ready /metrics /debug/pprof/)\n", displayURL(w.ops.Addr()))
	fmt.Fprintf(stdout, "  nsqd:     %s (tcp), %s (http)\n", w.nsqd.TCPAddr(), w.nsqd.HTTPAddr())
	fmt.Fprintf(stdout, "  data dir: %s\n", opts.DataDir)
	if w.agent != nil {
		fmt.Fprintf(stdout, "  agent:    this machine, room %s (deploys land in %s)\n", opts.Agent.Room, filepath.Join(opts.DataDir, "agent"))
	}
	if w.firstToken != "" {
		fmt.Fprintf(stdout, "\nFirst start: an admin token was created. It is shown only this once and saved to %s (mode 0600):\n\n  %s\n\n", w.tokenFile, w.firstToken)
		fmt.Fprintf(stdout, "Try:\n  curl -H \"Authorization: Bearer $(cat %s)\" %s/api/v1/whoami\n", w.tokenFile, gwURL)
	} else {
		fmt.Fprintf(stdout, "  admin token: in %s (created on the first start)\n", w.tokenFile)
	}
}

// registerArtifacts adds the artifacts function over a blob backend with the
// configured quota, and runs retention and garbage collection every
// artifacts.gc_every until stop is called.
func (b *base) registerArtifacts(ctx context.Context, mux *fnapi.Mux, be blob.Backend, st store.Store) (stop stopFunc, _ error) {
	o := b.opts.Artifacts
	log := logging.Component(b.log, "artifacts")
	reserved := adminapi.NewReservations(edge.New(st, edge.Options{}), registry.New(st, registry.Options{}))
	fn, err := artifacts.New(artifacts.Options{Backend: be, Store: st, Quota: o.QuotaBytes, Logger: log, Reservations: reserved})
	if err != nil {
		return nil, err
	}
	if err := mux.Register(fn); err != nil {
		return nil, err
	}
	if o.GCEvery <= 0 {
		return nil, nil
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		runArtifactGC(runCtx, fn, o, log)
	}()
	return noStop(func() { cancel(); <-done }), nil
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
