package ab

import (
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/internal/fnapi"
)

// layerInput is the body of POST /fn/ab/layers.
type layerInput struct {
	Team        string `json:"team"`
	Name        string `json:"name"`
	Salt        string `json:"salt"`
	Description string `json:"description"`
}

// LayerList is the answer of GET /fn/ab/layers.
type LayerList struct {
	Layers []experiment.Layer `json:"layers"`
}

// createLayer answers POST /fn/ab/layers: 201 with the layer, 400 naming
// each bad field, 409 when it exists.
func (f *Function) createLayer(r *fnapi.Request) error {
	var in layerInput
	if err := r.DecodeJSON(&in); err != nil {
		return err
	}
	team, err := callerTeam(r.Principal, in.Team, "team")
	if err != nil {
		return err
	}
	l := experiment.Layer{Name: in.Name, Team: team, Salt: in.Salt, Description: in.Description}
	l.Normalize()
	if errs := l.Validate(); len(errs) > 0 {
		return badFields(r, "invalid layer", errs)
	}
	l.Touch(r.Principal.Name, f.opts.Now().UTC())
	if err := f.create(r, layerKey(team, l.Name), l, "layer "+team+"/"+l.Name); err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusCreated, l)
}

// listLayers answers GET /fn/ab/layers[?team=]: the layers the caller sees.
func (f *Function) listLayers(r *fnapi.Request) error {
	prefix := layerPrefix
	if t := string(r.Ctx.QueryArgs().Peek("team")); t != "" {
		if _, err := callerTeam(r.Principal, t, "team"); err != nil {
			return err
		}
		prefix += t + "/"
	}
	ls, err := list(f, r, prefix, func(l experiment.Layer) string { return l.Team })
	if err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, LayerList{Layers: ls})
}

// getLayer answers GET /fn/ab/layers/{team}/{name}.
func (f *Function) getLayer(r *fnapi.Request) error {
	team, err := pathTeam(r, "layer")
	if err != nil {
		return err
	}
	var l experiment.Layer
	ctx, cancel := f.storeCtx(r)
	defer cancel()
	if _, err := f.load(ctx, layerKey(team, r.Params.Get("name")), &l, "layer"); err != nil {
		return err
	}
	return r.JSON(fasthttp.StatusOK, l)
}
