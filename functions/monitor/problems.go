package monitor

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// ProblemList is the answer of GET /api/v1/problems: the open problems
// (the last PROBLEM or NODATA event of each series not yet followed by its
// OK), ordered by strategy and event id; Next, when set, is the after=
// of the following page.
type ProblemList struct {
	Problems []event.Event `json:"problems"`
	Next     string        `json:"next,omitempty"`
}

// problemRoute is GET /api/v1/problems: admin and team tokens, a team
// token sees its teams' problems only.
func (f *Function) problemRoute() fnapi.Route {
	return fnapi.Route{Method: fasthttp.MethodGet, Pattern: "/api/v1/problems", Access: fnapi.AnyToken(), Handler: f.listProblems}
}

// listProblems answers GET /api/v1/problems?strategy=&team=&after=&limit=.
func (f *Function) listProblems(r *fnapi.Request) error {
	if err := strategyCaller(r.Principal); err != nil {
		return err
	}
	a := r.Ctx.QueryArgs()
	limit, err := pageLimit(a, DefaultStrategyLimit, MaxStrategyLimit)
	if err != nil {
		return err
	}
	prefix := wire.ProblemPrefix
	if id := string(a.Peek("strategy")); id != "" {
		if !strategy.ValidID(id) {
			return httperr.BadRequest("strategy: %q is not a strategy id", id)
		}
		prefix += id + "/"
	}
	team := string(a.Peek("team"))
	opts := store.ScanOptions{PageTimeout: f.opts.StoreTimeout}
	if after := string(a.Peek("after")); after != "" {
		opts.After = wire.ProblemPrefix + after
		if !strings.HasPrefix(opts.After, prefix) || !store.ValidKey(opts.After) {
			return httperr.BadRequest("after: %q is not a problem of this listing (give the next of the previous page)", after)
		}
	}
	out := ProblemList{Problems: []event.Event{}}
	for e, err := range store.Entries(r.Context(), f.opts.Store, prefix, opts) {
		if err != nil {
			return storeError(err, "list problems")
		}
		ev, err := event.Unmarshal(e.Value)
		if err != nil {
			r.Log.Error("skipping unreadable problem", "key", e.Key, "err", err)
			continue
		}
		if !r.Principal.IsAdmin() && (ev.Team == "" || !r.Principal.Allows(auth.TeamScope(ev.Team))) {
			continue
		}
		if team != "" && ev.Team != team {
			continue
		}
		if len(out.Problems) == limit {
			last := out.Problems[limit-1]
			out.Next = last.StrategyID + "/" + last.ID
			break
		}
		out.Problems = append(out.Problems, ev)
	}
	return r.JSON(fasthttp.StatusOK, out)
}
