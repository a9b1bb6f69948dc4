package alarms

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
)

// DeliveryList is the answer of GET /api/v1/alarms/deliveries?failed=1:
// the dead deliveries (retry budget spent) the caller sees.
type DeliveryList struct {
	Deliveries []wire.Claim `json:"deliveries"`
}

// listDeliveries answers the dead deliveries of the caller's teams (all
// for an admin). Only failed ones are listed: failed=0 is a 400.
func (f *Function) listDeliveries(r *fnapi.Request) error {
	if failed, err := boolArg(r, "failed", true); err != nil {
		return err
	} else if !failed {
		return httperr.BadRequest("failed must be 1: only failed (dead) deliveries are listed; a case's history shows the others")
	}
	prefixes := []string{wire.DeadPrefix}
	if !r.Principal.IsAdmin() {
		prefixes = prefixes[:0]
		for _, t := range r.Principal.Teams() {
			prefixes = append(prefixes, wire.DeadPrefix+t+"/")
		}
	}
	out := DeliveryList{Deliveries: []wire.Claim{}}
	for _, p := range prefixes {
		for e, err := range store.Entries(r.Context(), f.opts.Store, p, store.ScanOptions{PageTimeout: f.opts.StoreTimeout}) {
			if err != nil {
				return httperr.Unavailable(err, "cannot list deliveries")
			}
			var c wire.Claim
			if err := json.Unmarshal(e.Value, &c); err != nil {
				f.log.Warn("undecodable dead delivery", "key", e.Key, "err", err)
				continue
			}
			out.Deliveries = append(out.Deliveries, c)
		}
	}
	return r.JSON(fasthttp.StatusOK, out)
}
