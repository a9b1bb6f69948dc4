package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
	"github.com/wharfhq/wharf/runner/agent/release"
)

// Host returns the heartbeat the agent sends: the host and what it runs.
func (a *Agent) Host() wire.Host {
	return wire.Host{
		ID: a.opts.HostID, Room: a.opts.Room, Labels: slices.Clone(a.opts.Labels),
		Capacity: a.opts.Capacity, Agent: a.opts.Version, Advertise: a.opts.AdvertiseHost,
		PublicKey: a.eventKey.Public().(ed25519.PublicKey), Apps: a.Apps(), Busy: a.busyTask(),
	}
}

// hostHeartbeats sends the host heartbeat every HeartbeatEvery, and at
// once when a task starts or ends, until ctx ends. A failed heartbeat is
// logged; the next one retries. It never waits for task handling.
func (a *Agent) hostHeartbeats(ctx context.Context) {
	defer a.loops.Done()
	t := time.NewTicker(a.opts.HeartbeatEvery)
	defer t.Stop()
	failing := false
	for {
		ctx2, cancel := a.apiCtx()
		err := a.opts.API.Do(ctx2, http.MethodPut, wire.HostPath+url.PathEscape(a.opts.HostID), a.Host(), nil)
		cancel()
		switch {
		case err != nil && !failing:
			a.log.Warn("cannot send host heartbeat; retrying", "err", err)
			failing = true
		case err != nil:
			a.log.Debug("cannot send host heartbeat", "err", err)
		case failing:
			a.log.Info("host heartbeat sent again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.kickHB:
		}
	}
}

// apiSource downloads an artifact through the API client (its server and
// agent token): GET /api/v1/apps/{app}/artifacts/{version}/download. An
// error answer becomes a *release.StatusError, so release retries only
// the temporary ones.
type apiSource struct {
	api  *apiclient.Client
	path string
}

func artifactPath(app, version string) string {
	return "/api/v1/apps/" + url.PathEscape(app) + "/artifacts/" + url.PathEscape(version) + "/download"
}

// Open implements release.Source.
func (s apiSource) Open(ctx context.Context) (io.ReadCloser, error) {
	resp, err := s.api.Download(ctx, s.path)
	if err != nil {
		var ae *apiclient.Error
		if errors.As(err, &ae) {
			return nil, &release.StatusError{
				URL: s.path, Code: ae.Status, Body: ae.Message,
				Status: fmt.Sprintf("%d %s", ae.Status, http.StatusText(ae.Status)),
			}
		}
		return nil, err
	}
	return resp.Body, nil
}
