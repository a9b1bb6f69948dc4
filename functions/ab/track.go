package ab

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/functions/ab/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// MaxEventsPerRequest caps the events of one POST /fn/ab/track.
const MaxEventsPerRequest = 1000

// eventInput is one event of POST /fn/ab/track.
type eventInput struct {
	Unit   string   `json:"unit"`
	Metric string   `json:"metric"`
	Value  *float64 `json:"value"`
	TS     string   `json:"ts"`
}

// TrackResult answers POST /fn/ab/track.
type TrackResult struct {
	Accepted int `json:"accepted"`
}

// track answers POST /fn/ab/track[?team=]: one event or an array of
// events, all checked before any is published (400 naming each bad
// field), then published as one wire.Events to the aggregator. 202.
func (f *Function) track(r *fnapi.Request) error {
	team, err := callerTeam(r.Principal, string(r.Ctx.QueryArgs().Peek("team")), "team")
	if err != nil {
		return err
	}
	in, ok, err := decodeBatch[eventInput](r, "events")
	if !ok {
		return err
	}
	now := f.opts.Now().UTC()
	out := wire.Events{Version: wire.EventsVersion, Team: team, Events: make([]wire.Event, len(in)), ReceivedAt: now}
	var errs fielderr.List
	for i, e := range in {
		p := fmt.Sprintf("[%d]", i)
		errs.Merge(p, checkUnit(e.Unit, "unit"))
		if !experiment.ValidKey(e.Metric) {
			errs.Add(p+".metric", "must be 1-63 characters of a-z, 0-9, '-', '_' and '.'")
		}
		if e.Value == nil || math.IsNaN(*e.Value) || math.IsInf(*e.Value, 0) {
			errs.Add(p+".value", "must be a finite number")
		}
		ts := now
		if e.TS != "" {
			t, err := parseTS(e.TS)
			if err != nil {
				errs.Add(p+".ts", "must be an RFC 3339 time")
			}
			ts = t
		}
		if e.Value != nil {
			out.Events[i] = wire.Event{Unit: e.Unit, Metric: e.Metric, Value: *e.Value, TS: ts}
		}
	}
	if len(errs) > 0 {
		return badFields(r, "invalid events", errs)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("cannot encode events: %w", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.opts.PublishTimeout)
	defer cancel()
	if err := f.opts.Publisher.Publish(ctx, wire.EventsTopic, b); err != nil {
		return httperr.Unavailable(err, "cannot publish events")
	}
	f.m.events.Add(len(in))
	return r.JSON(fasthttp.StatusAccepted, TrackResult{Accepted: len(in)})
}
