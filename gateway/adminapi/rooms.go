package adminapi

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/ident"
)

// RoomsSource is this node's live view of a service's rooms (the gateway's
// RoomsStatus); nil or false when the process runs no gateway or the
// service has no room policy.
type RoomsSource interface {
	RoomsStatus(service string) (any, bool)
}

// roomsRoutes are the room policy and switch endpoints:
//
//	GET  /api/v1/rooms/{svc}                   policy, switch in progress or last, this node's live view
//	PUT  /api/v1/rooms/{svc}/policy            set the room policy (weights, priority, threshold, ...)
//	POST /api/v1/rooms/{svc}/switch            start a switch: {"to": room} or {"weights": {...}}, steps, interval, drain, why
//	POST /api/v1/rooms/{svc}/switch/{action}   pause | resume | abort: {"why": ...}
//	GET  /api/v1/rooms/{svc}/history?limit=N   every switch, newest first
func (f *Function) roomsRoutes() []fnapi.Route {
	if f.opts.Switches == nil {
		return nil
	}
	a := fnapi.AdminOnly()
	const p = "/api/v1/rooms/{svc}"
	return []fnapi.Route{
		{Method: "GET", Pattern: p, Access: a, Handler: f.getRooms},
		{Method: "PUT", Pattern: p + "/policy", Access: a, Handler: f.putRoomPolicy},
		{Method: "POST", Pattern: p + "/switch", Access: a, Handler: f.startSwitch},
		{Method: "POST", Pattern: p + "/switch/{action}", Access: a, Handler: f.actSwitch},
		{Method: "GET", Pattern: p + "/history", Access: a, Handler: f.switchHistory},
	}
}

// roomsView is GET /api/v1/rooms/{svc}.
type roomsView struct {
	Service string        `json:"service"`
	Policy  *rooms.Policy `json:"policy"`
	// Weights is the weights in effect: the switch's while one runs.
	Weights map[string]int `json:"weights"`
	Switch  *rooms.Record  `json:"switch"`
	// Live is what the gateway node that answered sees (distribution,
	// health, failover state and events); null on a node without gateway.
	Live any `json:"live"`
}

// roomState reads a service's policy and switch.
func (f *Function) roomState(r *fnapi.Request, svc string) (roomsView, time.Time, error) {
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return roomsView{}, time.Time{}, httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	v := roomsView{Service: svc}
	found := false
	for _, s := range d.Services {
		if s.Name == svc {
			found = true
			if s.Rooms != nil {
				p := rooms.PolicyFromConfig(*s.Rooms).WithDefaults()
				v.Policy = &p
			}
		}
	}
	if !found {
		return roomsView{}, time.Time{}, httperr.NotFound("no service %q", svc)
	}
	rec, _, err := f.opts.Switches.Get(r.Context(), svc)
	switch {
	case errors.Is(err, roomswitch.ErrNoSwitch):
	case err != nil:
		return roomsView{}, time.Time{}, httperr.Unavailable(err, "cannot read the room switch: store unavailable")
	default:
		v.Switch = &rec
	}
	if v.Policy != nil {
		v.Weights = roomswitch.Effective(v.Policy.Weights, d.UpdatedAt, v.Switch)
	}
	return v, d.UpdatedAt, nil
}

func (f *Function) getRooms(r *fnapi.Request) error {
	svc := r.Params.Get("svc")
	v, _, err := f.roomState(r, svc)
	if err != nil {
		return err
	}
	if f.opts.Rooms != nil {
		if live, ok := f.opts.Rooms.RoomsStatus(svc); ok {
			v.Live = live
		}
	}
	return r.JSON(fasthttp.StatusOK, v)
}

func (f *Function) putRoomPolicy(r *fnapi.Request) error {
	svc := r.Params.Get("svc")
	p, err := rooms.ParsePolicy(r.Ctx.PostBody())
	if err != nil {
		return httperr.BadRequest("%s", roomFieldErrors(err, nil))
	}
	rec, _, err := f.opts.Switches.Get(r.Context(), svc)
	if err == nil && rec.Active() {
		return httperr.Conflict("room switch %s of %s is %s; abort it (or let it finish) before changing the policy", rec.ID, svc, rec.State)
	}
	if err != nil && !errors.Is(err, roomswitch.ErrNoSwitch) {
		return httperr.Unavailable(err, "cannot read the room switch: store unavailable")
	}
	c := config.RoomsConfig{Weights: p.Weights, Priority: p.Priority, Threshold: p.Threshold,
		Overprovision: p.Overprovision, RecoverAfter: p.RecoverAfter, Sticky: p.Sticky}
	d, err := f.update(r, "set room policy of "+svc, nil, false, func(e *config.Edge) error {
		for i := range e.Services {
			if e.Services[i].Name == svc {
				e.Services[i].Rooms = &c
				return nil
			}
		}
		return httperr.NotFound("no service %q", svc)
	})
	if err != nil {
		return err
	}
	return versionResponse(r, fasthttp.StatusOK, d, p.WithDefaults())
}

// SwitchBody is the body of POST /api/v1/rooms/{svc}/switch.
type SwitchBody struct {
	// To moves all traffic to one room; Weights sets the weights to reach.
	// Exactly one is required.
	To      string         `json:"to,omitempty"`
	Weights map[string]int `json:"weights,omitempty"`
	// Steps stages the switch in percent of the way, e.g. [10, 50, 100];
	// empty switches at once.
	Steps []int `json:"steps,omitempty"`
	// Interval is the time between steps (default 1m); Drain how long the
	// pools of a room losing traffic are kept after each step.
	Interval config.Duration `json:"interval,omitempty"`
	Drain    config.Duration `json:"drain,omitempty"`
	Why      string          `json:"why,omitempty"`
}

func (f *Function) startSwitch(r *fnapi.Request) error {
	svc := r.Params.Get("svc")
	var b SwitchBody
	if err := r.DecodeJSON(&b); err != nil {
		return err
	}
	if (b.To == "") == (b.Weights == nil) {
		return httperr.BadRequest("to: give exactly one of to (a room) and weights")
	}
	if b.To != "" && !ident.Name(b.To) {
		return httperr.BadRequest("to: room names are %s, got %q", ident.NameRule, b.To)
	}
	if len(b.Why) > 1024 || !ident.Printable(b.Why) {
		return httperr.BadRequest("why: at most 1024 bytes without control characters")
	}
	v, _, err := f.roomState(r, svc)
	if err != nil {
		return err
	}
	if v.Policy == nil {
		return httperr.Conflict("service %q has no room policy; set one with PUT /api/v1/rooms/%s/policy first", svc, svc)
	}
	if err := f.checkRooms(r, svc, v.Policy, b); err != nil {
		return err
	}
	if v.Switch != nil && v.Switch.Active() {
		return httperr.Conflict("room switch %s of %s is %s; pause, resume or abort it", v.Switch.ID, svc, v.Switch.State)
	}
	spec := rooms.SwitchSpec{Service: svc, Who: r.Principal.Name, Why: b.Why, From: v.Weights,
		To: b.Weights, Interval: b.Interval, Drain: b.Drain}
	if spec.Who == "" {
		spec.Who = "unknown"
	}
	if b.To != "" {
		spec.To = rooms.MoveAll(v.Weights, b.To)
	}
	prev := 0
	for i, s := range b.Steps {
		switch {
		case s <= prev || s > 100:
			return httperr.BadRequest("steps[%d]: must be a percentage in %d..100, above the step before, got %d", i, prev+1, s)
		case i == len(b.Steps)-1 && s != 100:
			return httperr.BadRequest("steps[%d]: the last step must be 100, got %d", i, s)
		}
		prev = s
		spec.Fractions = append(spec.Fractions, float64(s)/100)
	}
	rec, err := f.opts.Switches.Start(r.Context(), spec)
	switch {
	case errors.Is(err, roomswitch.ErrActive):
		return httperr.Conflict("%v", err)
	case isRoomFieldError(err):
		// Name the fields of the request body, not of the switch spec.
		rename := map[string]string{"fractions": "steps", "to": "weights"}
		if b.To != "" {
			rename["to"] = "to"
		}
		return httperr.BadRequest("%s", roomFieldErrors(err, rename))
	case err != nil:
		return httperr.Unavailable(err, "cannot start the room switch: store unavailable")
	}
	r.Log.Info("room switch started", "service", svc, "id", rec.ID, "by", rec.Who, "to", rec.To, "steps", len(rec.Steps))
	return r.JSON(fasthttp.StatusCreated, rec)
}

func (f *Function) actSwitch(r *fnapi.Request) error {
	svc, action := r.Params.Get("svc"), r.Params.Get("action")
	switch action {
	case roomswitch.ActPause, roomswitch.ActResume, roomswitch.ActAbort:
	default:
		return httperr.NotFound("no switch action %q: use pause, resume or abort", action)
	}
	var b struct {
		Why string `json:"why"`
	}
	if len(r.Ctx.PostBody()) > 0 {
		if err := r.DecodeJSON(&b); err != nil {
			return err
		}
	}
	if len(b.Why) > 1024 || !ident.Printable(b.Why) {
		return httperr.BadRequest("why: at most 1024 bytes without control characters")
	}
	rec, err := f.opts.Switches.Act(r.Context(), svc, action, r.Principal.Name, b.Why)
	switch {
	case errors.Is(err, roomswitch.ErrNoSwitch):
		return httperr.NotFound("service %q has no room switch", svc)
	case errors.Is(err, rooms.ErrWrongState):
		return httperr.Conflict("%v", err)
	case errors.Is(err, roomswitch.ErrContention):
		return httperr.Conflict("%v; retry", err)
	case err != nil:
		return httperr.Unavailable(err, "cannot %s the room switch: store unavailable", action)
	}
	r.Log.Info("room switch "+action, "service", svc, "id", rec.ID, "by", r.Principal.Name)
	return r.JSON(fasthttp.StatusOK, rec)
}

// checkRooms refuses a switch to a room the service does not have (it would
// send the traffic nowhere): a room is known when the policy names it or an
// instance of the service, configured or registered, is in it.
func (f *Function) checkRooms(r *fnapi.Request, svc string, p *rooms.Policy, b SwitchBody) error {
	known := map[string]bool{}
	for _, room := range p.Rooms() {
		known[room] = true
	}
	d, _, err := f.opts.Edge.Get(r.Context())
	if err != nil {
		return httperr.Unavailable(err, "cannot read the edge config: store unavailable")
	}
	for _, s := range d.Services {
		for _, in := range s.Instances {
			if s.Name == svc && in.Room != "" {
				known[in.Room] = true
			}
		}
	}
	ins, err := f.opts.Registry.List(r.Context(), svc)
	if err != nil {
		return httperr.Unavailable(err, "cannot list instances: store unavailable")
	}
	for _, in := range ins {
		if in.Room != "" {
			known[in.Room] = true
		}
	}
	names := slices.Sorted(maps.Keys(known))
	if b.To != "" && !known[b.To] {
		return httperr.BadRequest("to: unknown room %q of service %s (known: %s)", b.To, svc, strings.Join(names, ", "))
	}
	for _, room := range slices.Sorted(maps.Keys(b.Weights)) {
		if !ident.Name(room) {
			return httperr.BadRequest("weights: room names are %s, got %q", ident.NameRule, room)
		}
		if !known[room] {
			return httperr.BadRequest("weights.%s: unknown room of service %s (known: %s)", room, svc, strings.Join(names, ", "))
		}
	}
	return nil
}

func (f *Function) switchHistory(r *fnapi.Request) error {
	svc := r.Params.Get("svc")
	limit := 20
	if s := string(r.Ctx.QueryArgs().Peek("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return httperr.BadRequest("limit: must be an integer between 1 and 1000, got %q", s)
		}
		limit = n
	}
	h, err := f.opts.Switches.History(r.Context(), svc, limit)
	if err != nil {
		return httperr.Unavailable(err, "cannot read the room switch history: store unavailable")
	}
	if h == nil {
		h = []rooms.Record{}
	}
	return r.JSON(fasthttp.StatusOK, map[string]any{"service": svc, "switches": h})
}

func isRoomFieldError(err error) bool {
	var fe *rooms.FieldError
	return errors.As(err, &fe)
}

// roomFieldErrors renders a rooms validation error as "field: msg; ...",
// without the "cannot parse ...:" prefixes; rename maps the first part of
// a field path to the request body's name for it.
func roomFieldErrors(err error, rename map[string]string) string {
	var parts []string
	var walk func(error)
	walk = func(e error) {
		var fe *rooms.FieldError
		switch {
		case e == nil:
		case errors.As(e, &fe) && e == error(fe):
			field := fe.Field
			head, rest := field, ""
			if i := strings.IndexAny(field, ".["); i >= 0 {
				head, rest = field[:i], field[i:]
			}
			if to, ok := rename[head]; ok {
				field = to + rest
			}
			parts = append(parts, field+": "+fe.Msg)
		default:
			if j, ok := e.(interface{ Unwrap() []error }); ok {
				for _, x := range j.Unwrap() {
					walk(x)
				}
				return
			}
			if u := errors.Unwrap(e); u != nil && isRoomFieldError(u) {
				walk(u)
				return
			}
			parts = append(parts, e.Error())
		}
	}
	walk(err)
	if len(parts) == 0 {
		return fmt.Sprint(err)
	}
	return strings.Join(parts, "; ")
}
