package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wharfhq/wharf/internal/config"
)

// role describes one multi-node role: what it needs and what it serves.
type role struct {
	name  string
	short string
	// groups are the option groups shown as flags.
	groups []string
	needs  struct{ redis, nsqd, minio, http bool }
	// embedded is serve: buntdb, in-process nsqd and the disk artifact
	// store instead of Redis, external nsqd and MinIO.
	embedded bool
}

func roles() []role {
	common := []string{"data_dir", "shutdown_grace", "log", "runtime", "internal", "redis", "nsq"}
	mk := func(name, short string, extra []string, redis, nsqd, minio, http bool) role {
		r := role{name: name, short: short, groups: append(append([]string{}, common...), extra...)}
		r.needs.redis, r.needs.nsqd, r.needs.minio, r.needs.http = redis, nsqd, minio, http
		return r
	}
	return []role{
		// gateway and functions serve the receiver API, which checks
		// notify.allow_receiver_networks.
		mk("gateway", "Run the edge gateway (needs Redis and nsqd)", []string{"gateway", "monitoring", "config_service", "notify"}, true, true, false, true),
		mk("functions", "Run the function handlers (needs Redis, nsqd and MinIO)", []string{"gateway", "minio", "artifacts", "monitoring", "config_service", "notify"}, true, true, true, true),
		mk("judge", "Run the alarm judge consumer (needs Redis and nsqd)", []string{"monitoring"}, true, true, false, false),
		mk("notify", "Run the alarm notify consumer (needs Redis and nsqd)", []string{"notify"}, true, true, false, false),
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
	w := &wiring{base: b, role: r}
	sig, stopSignals := notifySignals()
	defer stopSignals()
	running, err := startComponents(ctx, b.log, w.components(), opts.ShutdownGrace)
	if err != nil {
		return err
	}
	if w.firstToken != "" {
		fmt.Fprintf(stdout, "First start of this cluster: an admin token was created. It is shown only this once and saved to %s (mode 0600):\n\n  %s\n\n", w.tokenFile, w.firstToken)
	}
	var parts []string
	if w.gw != nil {
		plainURL, httpsURL := gatewayURLs(w.gw, opts.Gateway)
		if plainURL != "" {
			parts = append(parts, "http: "+plainURL)
		}
		if httpsURL != "" {
			parts = append(parts, "https: "+httpsURL)
		}
	}
	parts = append(parts, "internal: "+displayURL(b.ops.Addr()))
	fmt.Fprintf(stdout, "Wharf %s is running (role %s). %s\n", version, r.name, strings.Join(parts, ", "))
	b.log.Info("started", "internal", b.ops.Addr().String())

	cause, release := waitForSignal(ctx, b.log, sig, b.failed)
	defer release()
	if err := running.stop(opts.ShutdownGrace); err != nil {
		return err
	}
	return cause
}
