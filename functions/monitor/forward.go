package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/leases"
)

// maxForwardReply bounds the body of an owner's answer read by a forwarding node.
const maxForwardReply = 256 << 20

// localOnly reports whether the caller asked for this node's own shards
// only (wire.LocalShardsHeader: a forwarded call).
func localOnly(r *fnapi.Request) bool {
	return len(r.Ctx.Request.Header.Peek(wire.LocalShardsHeader)) > 0
}

// forwards reports whether shards this node does not store are asked of
// their owners: the writer shares them through leases, or this node has
// none (a gateway).
func (f *Function) forwards() bool {
	return f.opts.Series == nil || f.opts.Series.Shared()
}

// nodeID is the name of this node in answers ("" on a node without series).
func (f *Function) nodeID() string {
	if f.opts.Series == nil {
		return ""
	}
	return f.opts.Series.NodeID()
}

// owners reads the series leases: shard -> the writer that stores it.
func (f *Function) owners(ctx context.Context) (map[int]wire.SeriesOwner, error) {
	if f.opts.Store == nil {
		return nil, errors.New("no store to find the shards' owners in")
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.StoreTimeout)
	defer cancel()
	held, err := leases.Holders(ctx, f.opts.Store, wire.SeriesLeasePrefix, f.opts.Shards)
	if err != nil {
		return nil, err
	}
	out := make(map[int]wire.SeriesOwner, len(held))
	for i, v := range held {
		var o wire.SeriesOwner
		if json.Unmarshal(v, &o) == nil && o.URL != "" {
			out[i] = o
		}
	}
	return out, nil
}

// forwardCall is what the forwarded calls of one request take from it,
// read before they start (a fasthttp request is not safe for concurrent use).
type forwardCall struct {
	ctx           context.Context
	authorization string
}

func newForwardCall(r *fnapi.Request) *forwardCall {
	return &forwardCall{ctx: r.Context(), authorization: string(r.Ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))}
}

// ownerGroup is one owner and the shards asked of it.
type ownerGroup struct {
	owner  wire.SeriesOwner
	shards []int
}

// groupByOwner maps the shards to their owners; a shard without one, or
// whose owner is this node (it is moving), is a 503 naming it.
func (f *Function) groupByOwner(ctx context.Context, shards []int) ([]*ownerGroup, error) {
	owners, err := f.owners(ctx)
	if err != nil {
		return nil, httperr.Unavailable(err, "cannot find the nodes that store series shards %v", shards)
	}
	byURL := map[string]*ownerGroup{}
	var out []*ownerGroup
	for _, s := range shards {
		o, ok := owners[s]
		if !ok || o.Node == f.nodeID() {
			return nil, httperr.Unavailable(nil, "series shard %d has no owner now (a node is taking it over); retry shortly", s)
		}
		g := byURL[o.URL]
		if g == nil {
			g = &ownerGroup{owner: o}
			byURL[o.URL] = g
			out = append(out, g)
		}
		g.shards = append(g.shards, s)
	}
	return out, nil
}

// forward sends one request to an owner with the caller's Authorization
// and wire.LocalShardsHeader naming the shards asked of it, and decodes a 200 answer into out. Another
// answer is an error naming the owner and the shards; a 400 keeps its
// status and message (the owner's part alone is too large).
func (f *Function) forward(c *forwardCall, g *ownerGroup, route, method, pathQuery string, body []byte, out any, shards string) error {
	err := f.doForward(c, g, method, pathQuery, body, out, shards)
	result := "ok"
	if err != nil {
		result = "error"
	}
	f.stats.forwarded(route, result).Inc()
	return err
}

func (f *Function) doForward(c *forwardCall, g *ownerGroup, method, pathQuery string, body []byte, out any, shards string) error {
	ctx, cancel := context.WithTimeout(c.ctx, f.opts.ForwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.owner.URL+pathQuery, bytes.NewReader(body))
	if err != nil {
		return httperr.Unavailable(err, "cannot ask node %s for series shards %v", g.owner.Node, g.shards)
	}
	if c.authorization != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, c.authorization)
	}
	req.Header.Set(wire.LocalShardsHeader, shards)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return httperr.Unavailable(err, "series shards %v are stored on node %s, which cannot be reached", g.shards, g.owner.Node)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardReply))
	if err != nil {
		return httperr.Unavailable(err, "series shards %v: node %s did not answer in full", g.shards, g.owner.Node)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode == http.StatusBadRequest {
			return httperr.BadRequest("%s", e.Error)
		}
		return httperr.Unavailable(fmt.Errorf("status %d: %s", resp.StatusCode, e.Error),
			"series shards %v: node %s answered %d: %s", g.shards, g.owner.Node, resp.StatusCode, e.Error)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return httperr.Unavailable(err, "series shards %v: node %s answered something else than JSON", g.shards, g.owner.Node)
	}
	return nil
}

// sortedShards returns the keys of m, ascending.
func sortedShards[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
