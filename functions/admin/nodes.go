package admin

import (
	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/nodes"
)

// NodesResponse is the answer of GET /api/v1/nodes.
type NodesResponse struct {
	Nodes []nodes.Record `json:"nodes"`
}

// listNodes answers the live node records (see package nodes).
func (f *Function) listNodes(r *fnapi.Request) error {
	if f.nodes == nil {
		return r.JSON(fasthttp.StatusOK, NodesResponse{Nodes: []nodes.Record{}})
	}
	list, err := nodes.List(r.Context(), f.nodes, r.Log)
	if err != nil {
		return httperr.Unavailable(err, "cannot list nodes: store unavailable")
	}
	return r.JSON(fasthttp.StatusOK, NodesResponse{Nodes: list})
}
