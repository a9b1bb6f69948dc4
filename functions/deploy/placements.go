package deploy

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/store"
)

// place records rec's targets as placements of its app: their agents may
// register the app's instances (the gateway's registry checks them) and
// download its bundles from now on.
func (f *Function) place(ctx context.Context, rec *plan.Record) error {
	for _, t := range rec.Targets {
		if err := f.hosts.Place(ctx, rec.App, t.Host); err != nil {
			return unavailable(err, "cannot record the deploy's targets: store unavailable")
		}
	}
	return nil
}

// runsApp returns which of hosts run app: their heartbeat lists it and a
// deploy of the app targeted them. A heartbeat alone is only the agent's
// word, and any agent token could claim any app in it.
func (f *Function) runsApp(ctx context.Context, app string, hosts []wire.Host) (map[string]bool, error) {
	out := map[string]bool{}
	for _, h := range hosts {
		if _, ok := h.Apps[app]; !ok {
			continue
		}
		placed, err := f.hosts.Placed(ctx, app, h.ID)
		if err != nil {
			return nil, unavailable(err, "cannot read where app %q is deployed: store unavailable", app)
		}
		out[h.ID] = placed
	}
	return out, nil
}

// placementsDoneKey marks that the placements of the deploys recorded
// before placements existed were written (once per cluster).
const placementsDoneKey = "tenancy/placements-backfilled"

// backfillPlacements records the targets of every stored deploy record as
// placements of its app, once per cluster: deploys made by a Wharf without
// placements keep their agents' registrations alive after an upgrade.
// A failure is logged; the next start tries again.
func (f *Function) backfillPlacements(ctx context.Context) {
	cctx, cancel := f.storeCtx(ctx)
	_, err := f.st.Get(cctx, placementsDoneKey)
	cancel()
	if err == nil {
		return
	}
	if !errors.Is(err, store.ErrNotFound) {
		f.log.Warn("cannot check whether placements were backfilled", "err", err)
		return
	}
	n := 0
	err = f.scan(ctx, recordsPrefix, func(e store.Entry) error {
		var rec struct {
			App     string `json:"app"`
			Targets []struct {
				Host string `json:"host"`
			} `json:"targets"`
		}
		if err := json.Unmarshal(e.Value, &rec); err != nil || rec.App == "" {
			return nil // an undecodable record places nothing
		}
		for _, t := range rec.Targets {
			if err := f.hosts.Place(ctx, rec.App, t.Host); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		f.log.Warn("cannot backfill placements; the next start retries", "err", err)
		return
	}
	cctx, cancel = f.storeCtx(ctx)
	defer cancel()
	if _, err := f.st.Put(cctx, placementsDoneKey, []byte("1"), store.PutOptions{}); err != nil {
		f.log.Warn("cannot mark placements backfilled", "err", err)
		return
	}
	if n > 0 {
		f.log.Info("placements backfilled from the deploy records", "placements", n)
	}
}
