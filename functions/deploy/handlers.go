package deploy

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/deploy/plan"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
)

// View is a deploy as the API shows it: the record's fields, its summary
// and, for a rollback that stopped a running deploy, that deploy's id.
type View struct {
	*plan.Record
	Summary    plan.Summary `json:"summary"`
	Superseded string       `json:"superseded,omitempty"`
}

func view(rec *plan.Record) View { return View{Record: rec, Summary: rec.Summary()} }

// HistoryResponse is the answer of GET /api/v1/apps/{app}/deploys.
type HistoryResponse struct {
	App     string         `json:"app"`
	Deploys []HistoryEntry `json:"deploys"`
}

// errorBody is the JSON of the function's own 4xx answers: httperr's
// {"error", "request_id"} plus the running deploy or the wrong fields.
type errorBody struct {
	Error     string         `json:"error"`
	Running   string         `json:"running,omitempty"`
	Fields    []FieldProblem `json:"fields,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

// answer writes BusyError and FieldsError with their extra fields; any
// other error goes back to the Mux, which maps it through httperr.
func answer(r *fnapi.Request, err error) error {
	var be *BusyError
	var fe *FieldsError
	switch {
	case errors.As(err, &be):
		return r.JSON(fasthttp.StatusConflict, errorBody{Error: be.Error(), Running: be.Running, RequestID: r.RequestID})
	case errors.As(err, &fe):
		return r.JSON(fe.Status, errorBody{Error: fe.Msg, Fields: fe.Fields, RequestID: r.RequestID})
	}
	return err
}

// appAccess checks the path's app and that the caller may deploy it
// (admin, team:<owner>) or, without write, read its deploys (agent too).
// Another team's app, and for an agent token an app not deployed to its
// hosts, answers like a missing one (tenancy.Hosts.Access).
func (f *Function) appAccess(r *fnapi.Request, write bool) (string, error) {
	app := r.Params.Get("app")
	if !validApp(app) {
		return "", httperr.BadRequest("app: invalid name %q: use 1-63 of a-z, 0-9 and '-', starting with a letter", app)
	}
	team, err := f.owner(r.Context(), app)
	if err != nil {
		return "", err
	}
	if err := f.hosts.Access(r.Context(), r.Principal, app, team, write); err != nil {
		return "", err
	}
	return app, nil
}

// create starts a deploy: POST /api/v1/apps/{app}/deploys.
func (f *Function) create(r *fnapi.Request) error {
	app, err := f.appAccess(r, true)
	if err != nil {
		return err
	}
	body := r.Ctx.PostBody()
	if len(bytes.TrimSpace(body)) == 0 {
		return httperr.BadRequest("request body must be a deploy spec, e.g. {\"version\": \"1.4.2\", \"targets\": {\"all\": true}}")
	}
	spec, err := plan.ParseSpec(body)
	if err != nil {
		return answer(r, fieldsError(fasthttp.StatusBadRequest, "invalid deploy", err))
	}
	rec, err := f.Deploy(r.Context(), app, r.Principal.Name, spec)
	if err != nil {
		return answer(r, err)
	}
	r.Ctx.Response.Header.Set("Location", "/api/v1/apps/"+app+"/deploys/"+rec.ID)
	return r.JSON(fasthttp.StatusCreated, view(rec))
}

// history lists the app's deploys: GET /api/v1/apps/{app}/deploys?limit=N.
func (f *Function) history(r *fnapi.Request) error {
	app, err := f.appAccess(r, false)
	if err != nil {
		return err
	}
	limit := DefaultHistoryLimit
	if s := string(r.Ctx.QueryArgs().Peek("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxHistory {
			return httperr.BadRequest("limit: want a whole number from 1 to %d, got %q", MaxHistory, s)
		}
		limit = n
	}
	h, err := f.History(r.Context(), app, limit)
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, HistoryResponse{App: app, Deploys: h})
}

// show returns one deploy: GET /api/v1/apps/{app}/deploys/{id}.
func (f *Function) show(r *fnapi.Request) error {
	app, err := f.appAccess(r, false)
	if err != nil {
		return err
	}
	rec, _, err := f.Get(r.Context(), app, r.Params.Get("id"))
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, view(rec))
}

// control pauses, resumes or aborts: POST .../deploys/{id}/<action>, with
// an optional body {"why": "..."} kept in the timeline.
func (f *Function) control(action Action) func(r *fnapi.Request) error {
	return func(r *fnapi.Request) error {
		app, err := f.appAccess(r, true)
		if err != nil {
			return err
		}
		var body struct {
			Why string `json:"why"`
		}
		if len(bytes.TrimSpace(r.Ctx.PostBody())) > 0 {
			if err := r.DecodeJSON(&body); err != nil {
				return err
			}
		}
		rec, err := f.Control(r.Context(), app, r.Params.Get("id"), action, r.Principal.Name, body.Why)
		if err != nil {
			return err
		}
		return r.JSON(fasthttp.StatusOK, view(rec))
	}
}

// rollback starts a rollback deploy: POST /api/v1/apps/{app}/rollback.
func (f *Function) rollback(r *fnapi.Request) error {
	app, err := f.appAccess(r, true)
	if err != nil {
		return err
	}
	var req RollbackRequest
	if len(bytes.TrimSpace(r.Ctx.PostBody())) > 0 {
		if err := r.DecodeJSON(&req); err != nil {
			return err
		}
	}
	rec, superseded, err := f.Rollback(r.Context(), app, r.Principal.Name, req)
	if err != nil {
		return answer(r, err)
	}
	v := view(rec)
	v.Superseded = superseded
	r.Ctx.Response.Header.Set("Location", "/api/v1/apps/"+app+"/deploys/"+rec.ID)
	return r.JSON(fasthttp.StatusCreated, v)
}
