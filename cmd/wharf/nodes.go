package main

import (
	"context"
	"os"

	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/nodes"
)

// startNodeHeartbeat announces this process in the node registry (see
// package nodes) once everything else has started, so the record carries
// the gateway's address. It sits just before readiness in the table: its
// stop, the second shutdown step, deletes the record before anything
// else stops. The agent role has no store and does not announce itself:
// its host heartbeats through the deploy function instead.
func (w *wiring) startNodeHeartbeat(ctx context.Context) (stopFunc, error) {
	host, _ := os.Hostname()
	internal := w.ops.Addr().String()
	rec := nodes.Record{
		ID: nodes.NewID(host, internal), Roles: w.role.plays(w.opts.Agent.Local), Command: w.role.name,
		Version: version, StartedAt: w.started.UTC(), Internal: displayURL(w.ops.Addr()),
	}
	if w.gw != nil {
		rec.Gateway, rec.GatewayTLS = gatewayURLs(w.gw, w.opts.Gateway)
	}
	srv := w.ops
	hb, err := nodes.New(nodes.Options{
		Store: w.st, Record: rec, Logger: logging.Component(w.log, "nodes"),
		Failing: func(ctx context.Context) []string {
			_, res := srv.Evaluate(ctx)
			var failing []string
			for _, c := range res {
				if !c.OK {
					failing = append(failing, c.Name)
				}
			}
			return failing
		},
	})
	if err != nil {
		return nil, err
	}
	if err := hb.Start(ctx); err != nil {
		return nil, err
	}
	return hb.Stop, nil
}

// plays lists the roles a process of r plays: serve plays the gateway,
// functions and judge, and the agent when it runs the local one.
func (r role) plays(localAgent bool) []string {
	if !r.embedded {
		return []string{r.name}
	}
	out := []string{"gateway", "functions", "judge"}
	if localAgent {
		out = append(out, "agent")
	}
	return out
}
