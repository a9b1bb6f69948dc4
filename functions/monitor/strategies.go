package monitor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// Strategy listing limits.
const (
	DefaultStrategyLimit = 100
	MaxStrategyLimit     = 1000
)

// StrategyList is the answer of GET /api/v1/strategies. Next, when set,
// is the after= of the next page.
type StrategyList struct {
	Strategies []strategy.Strategy `json:"strategies"`
	Next       string              `json:"next,omitempty"`
}

// FieldProblem is one wrong field of a strategy, as a JSON path.
type FieldProblem struct {
	Field string `json:"field"`
	Msg   string `json:"msg"`
}

// fieldsBody is the 400 of an invalid strategy: the message names every
// field, and fields lists them.
type fieldsBody struct {
	Error     string         `json:"error"`
	Fields    []FieldProblem `json:"fields,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

// strategyRoutes are the team-owned strategy routes: any token reaches the
// handler, which admits admin and team tokens (strategyCaller) and shows a
// team token only its teams' strategies.
func (f *Function) strategyRoutes() []fnapi.Route {
	tok := fnapi.AnyToken()
	const base = "/api/v1/strategies"
	return []fnapi.Route{
		{Method: fasthttp.MethodPost, Pattern: base, Access: tok, Handler: f.createStrategy},
		{Method: fasthttp.MethodGet, Pattern: base, Access: tok, Handler: f.listStrategies},
		{Method: fasthttp.MethodGet, Pattern: base + "/{id}", Access: tok, Handler: f.showStrategy},
		{Method: fasthttp.MethodPut, Pattern: base + "/{id}", Access: tok, Handler: f.updateStrategy},
		{Method: fasthttp.MethodDelete, Pattern: base + "/{id}", Access: tok, Handler: f.deleteStrategy},
		{Method: fasthttp.MethodPost, Pattern: base + "/test", Access: tok, Handler: readers(f.backtestStrategy)},
	}
}

// strategyCaller refuses, whatever the strategy, a token that can never
// own one: neither admin nor any team (agent, ingest).
func strategyCaller(p auth.Principal) error {
	if p.IsAdmin() || len(p.Teams()) > 0 {
		return nil
	}
	return httperr.Forbidden("token %q lacks scope for strategies: need admin or team:<name>", p.Name)
}

// visible reports whether p may see and change s: admin any, a team token
// only its teams' strategies.
func visible(p auth.Principal, s strategy.Strategy) bool {
	return p.IsAdmin() || (s.Team != "" && p.Allows(auth.TeamScope(s.Team)))
}

// strategyNotFound is the answer for a strategy that does not exist or
// that the caller may not see: the same either way.
func strategyNotFound(id string) *httperr.Error {
	return httperr.NotFound("strategy %q not found", id)
}

// ownTeam sets or checks s.Team for p: a team token without a team gets
// its own (when it holds exactly one), a named team must be valid and,
// for a team token, one it holds. keep is the team of the stored
// strategy an update keeps when the body names none.
func ownTeam(p auth.Principal, s *strategy.Strategy, keep string) error {
	if s.Team == "" {
		s.Team = keep
	}
	if s.Team == "" {
		if p.IsAdmin() {
			return nil
		}
		teams := p.Teams()
		if len(teams) != 1 {
			return &strategy.FieldError{Field: "team", Msg: "is required: the token holds several teams (" + strings.Join(teams, ", ") + ")"}
		}
		s.Team = teams[0]
		return nil
	}
	if !auth.ValidName(s.Team) {
		return &strategy.FieldError{Field: "team", Msg: "must be 1-63 of a-z, 0-9, '-', '_', got " + strconv.Quote(s.Team)}
	}
	if !p.Allows(auth.TeamScope(s.Team)) {
		return httperr.Forbidden("team: token %q lacks scope team:%s", p.Name, s.Team)
	}
	return nil
}

// decodeStrategy reads a strategy body: strictly decoded, its id taken
// from the path (pathID) or generated when absent, its team set for the
// caller, and compiled. keep is the stored team on an update.
func (f *Function) decodeStrategy(r *fnapi.Request, pathID, keep string) (strategy.Strategy, error) {
	body := r.Ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return strategy.Strategy{}, httperr.BadRequest("request body must be a strategy JSON object, e.g. {\"metric\":\"cpu.busy\",\"func\":\"all(#3)\",\"operator\":\">\",\"right_value\":90,\"max_step\":3,\"priority\":2}")
	}
	s, err := strategy.Decode(body)
	if err != nil {
		return s, err
	}
	switch {
	case pathID != "" && s.ID != "" && s.ID != pathID:
		return s, &strategy.FieldError{Field: "id", Msg: fmt.Sprintf("is %q but the path names %q; leave it out or give the same", s.ID, pathID)}
	case pathID != "":
		s.ID = pathID
	case s.ID == "":
		s.ID, err = newStrategyID()
		if err != nil {
			return s, err
		}
	}
	if err := ownTeam(r.Principal, &s, keep); err != nil {
		return s, err
	}
	c, err := strategy.Compile(s)
	if err != nil {
		return s, err
	}
	return s, boundToTeam(r.Principal, c)
}

// newStrategyID is a random id: "s-" and 12 hex digits.
func newStrategyID() (string, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cannot generate a strategy id: %w", err)
	}
	return "s-" + hex.EncodeToString(b[:]), nil
}

// answerStrategy maps the field errors of strategy (joined) to a 400 that
// names every field; other errors go on to httperr.
func answerStrategy(r *fnapi.Request, err error) error {
	var fs []FieldProblem
	collectFields(err, &fs)
	if len(fs) == 0 {
		return err
	}
	parts := make([]string, len(fs))
	for i, p := range fs {
		parts[i] = p.Field + ": " + p.Msg
	}
	return r.JSON(fasthttp.StatusBadRequest, fieldsBody{Error: "invalid strategy: " + strings.Join(parts, "; "), Fields: fs, RequestID: r.RequestID})
}

func collectFields(err error, out *[]FieldProblem) {
	if fe, ok := err.(*strategy.FieldError); ok {
		*out = append(*out, FieldProblem{Field: fe.Field, Msg: fe.Msg})
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collectFields(e, out)
		}
	}
}

func (f *Function) storeCtx(r *fnapi.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), f.opts.StoreTimeout)
}

func storeError(err error, what string) error {
	var he *httperr.Error
	if errors.As(err, &he) {
		return err
	}
	return httperr.Unavailable(err, "cannot %s: store unavailable", what)
}

// strategyKey is the store key of id from a path, or the 404 of a
// missing strategy for an id that cannot be stored (no store call).
func strategyKey(id string) (string, error) {
	key := wire.StrategyKey(id)
	if id == "" || len(id) > strategy.MaxIDLen || !store.ValidKey(key) {
		return "", strategyNotFound(id)
	}
	return key, nil
}

// readStrategy returns the stored strategy id if p may see it.
func (f *Function) readStrategy(ctx context.Context, p auth.Principal, id string) (strategy.Strategy, uint64, error) {
	key, err := strategyKey(id)
	if err != nil {
		return strategy.Strategy{}, 0, err
	}
	e, err := f.opts.Store.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return strategy.Strategy{}, 0, strategyNotFound(id)
	}
	if err != nil {
		return strategy.Strategy{}, 0, storeError(err, "read strategy")
	}
	s, err := unmarshalStrategy(e.Value)
	if err != nil {
		return strategy.Strategy{}, 0, err
	}
	if !visible(p, s) {
		return strategy.Strategy{}, 0, strategyNotFound(id)
	}
	return s, e.Version, nil
}

func unmarshalStrategy(b []byte) (strategy.Strategy, error) {
	var s strategy.Strategy
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("cannot read stored strategy: %w", err)
	}
	return s, nil
}

// createStrategy is POST /api/v1/strategies: 201 with the strategy as
// stored (id generated when absent, team set), 409 when the id is taken.
func (f *Function) createStrategy(r *fnapi.Request) error {
	if err := strategyCaller(r.Principal); err != nil {
		return err
	}
	s, err := f.decodeStrategy(r, "", "")
	if err != nil {
		return answerStrategy(r, err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("cannot encode strategy: %w", err)
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.opts.Store.CompareAndSwap(ctx, wire.StrategyKey(s.ID), 0, b, store.PutOptions{}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return httperr.Conflict("strategy %q already exists: pick another id, or leave id out to get one", s.ID)
		}
		return storeError(err, "create strategy")
	}
	r.Ctx.Response.Header.Set("Location", "/api/v1/strategies/"+s.ID)
	return r.JSON(fasthttp.StatusCreated, s)
}

// showStrategy is GET /api/v1/strategies/{id}.
func (f *Function) showStrategy(r *fnapi.Request) error {
	if err := strategyCaller(r.Principal); err != nil {
		return err
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	s, _, err := f.readStrategy(ctx, r.Principal, r.Params.Get("id"))
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, s)
}

// updateStrategy is PUT /api/v1/strategies/{id}: the whole strategy
// replaced with compare-and-swap; a body without team keeps the stored one.
func (f *Function) updateStrategy(r *fnapi.Request) error {
	if err := strategyCaller(r.Principal); err != nil {
		return err
	}
	id := r.Params.Get("id")
	key, err := strategyKey(id)
	if err != nil {
		return err
	}
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	var out strategy.Strategy
	var invalid error
	_, err = store.Update(ctx, f.opts.Store, key, store.RetryOptions{}, func(cur store.Entry, ok bool) ([]byte, store.PutOptions, error) {
		if !ok {
			return nil, store.PutOptions{}, strategyNotFound(id)
		}
		old, err := unmarshalStrategy(cur.Value)
		if err != nil {
			return nil, store.PutOptions{}, err
		}
		if !visible(r.Principal, old) {
			return nil, store.PutOptions{}, strategyNotFound(id)
		}
		s, err := f.decodeStrategy(r, id, old.Team)
		if err != nil {
			invalid = err
			return nil, store.PutOptions{}, err
		}
		b, err := json.Marshal(s)
		if err != nil {
			return nil, store.PutOptions{}, fmt.Errorf("cannot encode strategy: %w", err)
		}
		out = s
		return b, store.PutOptions{}, nil
	})
	switch {
	case invalid != nil:
		return answerStrategy(r, invalid)
	case err != nil:
		return storeError(err, "update strategy")
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// deleteStrategy is DELETE /api/v1/strategies/{id}: 204.
func (f *Function) deleteStrategy(r *fnapi.Request) error {
	if err := strategyCaller(r.Principal); err != nil {
		return err
	}
	id := r.Params.Get("id")
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	err := store.Retry(ctx, store.RetryOptions{}, func(ctx context.Context) error {
		_, ver, err := f.readStrategy(ctx, r.Principal, id)
		if err != nil {
			return err
		}
		_, err = f.opts.Store.CompareAndDelete(ctx, wire.StrategyKey(id), ver)
		return store.AsConflict(err)
	})
	if err != nil {
		return storeError(err, "delete strategy")
	}
	r.Ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// listStrategies is GET /api/v1/strategies?team=&metric=&after=&limit=:
// the strategies the caller may see, by id.
func (f *Function) listStrategies(r *fnapi.Request) error {
	if err := strategyCaller(r.Principal); err != nil {
		return err
	}
	a := r.Ctx.QueryArgs()
	limit, err := pageLimit(a, DefaultStrategyLimit, MaxStrategyLimit)
	if err != nil {
		return err
	}
	team, metricName, after := string(a.Peek("team")), string(a.Peek("metric")), string(a.Peek("after"))
	opts := store.ScanOptions{PageTimeout: f.opts.StoreTimeout}
	if after != "" {
		opts.After = wire.StrategyKey(after)
	}
	out := StrategyList{Strategies: []strategy.Strategy{}}
	for e, err := range store.Entries(r.Context(), f.opts.Store, wire.StrategyPrefix, opts) {
		if err != nil {
			return storeError(err, "list strategies")
		}
		s, err := unmarshalStrategy(e.Value)
		if err != nil {
			r.Log.Error("skipping unreadable strategy", "key", e.Key, "err", err)
			continue
		}
		if !visible(r.Principal, s) || (team != "" && s.Team != team) || (metricName != "" && strategyMetric(s) != metricName) {
			continue
		}
		if len(out.Strategies) == limit {
			out.Next = out.Strategies[limit-1].ID
			break
		}
		out.Strategies = append(out.Strategies, s)
	}
	return r.JSON(fasthttp.StatusOK, out)
}

// strategyMetric is the metric s judges, from Metric or its expression.
func strategyMetric(s strategy.Strategy) string {
	if s.Expression == "" {
		return s.Metric
	}
	e, err := strategy.ParseExpression(s.Expression)
	if err != nil {
		return ""
	}
	return e.Metric
}
