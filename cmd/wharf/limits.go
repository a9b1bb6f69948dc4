package main

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/ratelimit"
	"github.com/wharfhq/wharf/gateway/ratelimit/cluster"
	"github.com/wharfhq/wharf/internal/logging"
)

// clusterLimits adapts a cluster.Cluster to the gateway's options.
type clusterLimits struct{ c *cluster.Cluster }

func (l *clusterLimits) newSet(zones ...*ratelimit.Zone) (gateway.LimitSet, error) {
	return l.c.NewSet(zones...)
}

func (l *clusterLimits) mode() string {
	return fmt.Sprintf("%s (%d nodes)", l.c.Mode(), l.c.Nodes())
}

// startClusterLimits connects the cluster rate limiter to Redis with its own
// client (tight timeouts, separate from the store's pool) and runs its node
// heartbeat until stop is called. The role's node id is its gateway address.
func (b *base) startClusterLimits(ctx context.Context, role string) (_ *clusterLimits, stop stopFunc, _ error) {
	o := cluster.ClientOptions(b.opts.Redis.Addr)
	o.Password, o.DB = b.opts.Redis.Password, b.opts.Redis.DB
	client := redis.NewClient(o)
	c, err := cluster.New(cluster.Options{
		Client:  client,
		Prefix:  b.opts.Redis.Namespace + ":rl:",
		Timeout: b.opts.Gateway.LimitTimeout,
		Logger:  logging.Component(b.log, "ratelimit"),
		Metrics: b.metrics,
	})
	if err != nil {
		_ = client.Close()
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(runCtx) }()
	b.log.Info("cluster rate limiting on", "role", role, "node", c.NodeID())
	return &clusterLimits{c: c}, func(context.Context) error { cancel(); <-done; return client.Close() }, nil
}
