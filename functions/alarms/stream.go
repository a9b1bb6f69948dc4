package alarms

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"net"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/httperr"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// Server-sent events of GET /api/v1/alarms/stream:
//
//	id: <store revision of the change>
//	event: case
//	data: <the case as JSON, without its history; a firing one with
//	       ack_url, its acknowledgement link, when notify.public_url is set>
//
// A case written again without a visible change (a delivery recorded in
// its history, which the stream leaves out) sends no event.
//
// A client resumes after a disconnect with the Last-Event-ID header (or
// last_event_id=) set to the last id it got: every change after it
// follows, none twice. When the store no longer has that far back, the
// stream sends "event: reset" and goes on from the present (read
// GET /api/v1/alarms to catch up). A comment line ": heartbeat" comes
// every HeartbeatInterval so proxies keep the connection open.

// linkedCase is a stream event's case with its acknowledgement link.
type linkedCase struct {
	alarm.Case
	AckURL string `json:"ack_url"`
}

// streamDedupCases bounds the cases a stream remembers the last event of
// (to send no event that repeats the previous one of its case: a case
// written again only to record a delivery in its history, which the
// stream does not carry). Past it the memory starts afresh.
const streamDedupCases = 10000

// streamWriteWindow bounds each write of a stream (the gateway's write
// timeout is meant for whole responses; a stream renews it per event).
const streamWriteWindow = 30 * time.Second

// stream answers GET /api/v1/alarms/stream: the case changes the caller
// sees (team-scoped), filtered by the match= matchers.
func (f *Function) stream(r *fnapi.Request) error {
	match, err := parseFilters(r, "match")
	if err != nil {
		return err
	}
	from := uint64(store.FromNow)
	last := string(r.Ctx.Request.Header.Peek("Last-Event-ID"))
	if v := r.Ctx.QueryArgs().Peek("last_event_id"); len(v) > 0 {
		last = string(v)
	}
	if last != "" {
		n, err := strconv.ParseUint(last, 10, 64)
		if err != nil {
			return httperr.BadRequest("Last-Event-ID must be the id of an event of this stream, got %q", last)
		}
		from = n
	}
	if from == store.FromNow {
		// Start at a revision of our own, so the first event's id resumes right.
		ctx, cancel := f.storeCtx(r)
		rev, err := f.opts.Store.Revision(ctx)
		cancel()
		if err != nil {
			return httperr.Unavailable(err, "cannot read the store revision")
		}
		from = rev
	}
	ctx, cancel := context.WithCancel(r.Context())
	events, err := f.opts.Store.Watch(ctx, wire.CasePrefix, from)
	if err != nil {
		cancel()
		return httperr.Unavailable(err, "cannot watch the alarms")
	}
	// The server's shutdown channel (not the request's: a RequestCtx is
	// not kept past the handler) ends the stream when the gateway drains.
	p, conn, shutdown := r.Principal, r.Ctx.Conn(), r.Ctx.Done()
	r.Ctx.SetContentType("text/event-stream")
	r.Ctx.Response.Header.Set("Cache-Control", "no-cache")
	r.Ctx.Response.Header.Set("X-Accel-Buffering", "no")
	r.Ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cancel()
		f.pump(ctx, w, conn, shutdown, p, match, events)
	})
	return nil
}

// pump writes events to w until ctx ends, the server shuts down, the
// watch ends or a write fails (the client went away: noticed at the
// next event or heartbeat at the latest).
func (f *Function) pump(ctx context.Context, w *bufio.Writer, conn net.Conn, shutdown <-chan struct{}, p auth.Principal, match labels.Matchers, events <-chan store.Event) {
	beat := time.NewTicker(f.opts.HeartbeatInterval)
	defer beat.Stop()
	flush := func() bool {
		if conn != nil {
			_ = conn.SetWriteDeadline(time.Now().Add(streamWriteWindow))
		}
		return w.Flush() == nil
	}
	seed := maphash.MakeSeed()
	sent := map[string]uint64{} // case id → hash of its last event's data
	_, _ = w.WriteString(": stream of alarm case changes\n\n")
	if !flush() {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-shutdown:
			return
		case <-beat.C:
			_, _ = w.WriteString(": heartbeat\n\n")
			if !flush() {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Err != nil {
				if !errors.Is(ev.Err, store.ErrCompacted) {
					f.log.Info("alarm stream ended", "err", ev.Err)
					return
				}
				// Too far back: say so and go on from the present.
				_, _ = w.WriteString("event: reset\ndata: {}\n\n")
				if !flush() {
					return
				}
				var err error
				if events, err = f.opts.Store.Watch(ctx, wire.CasePrefix, store.FromNow); err != nil {
					f.log.Warn("cannot watch the alarms again", "err", err)
					return
				}
				continue
			}
			if ev.Type != store.EventPut {
				continue
			}
			var c alarm.Case
			if err := json.Unmarshal(ev.Value, &c); err != nil || !sees(p, teamOf(c.Labels)) || !match.Matches(c.Labels) {
				continue
			}
			c.History, c.Seen = nil, nil
			b, err := json.Marshal(c)
			if err != nil {
				continue
			}
			h := maphash.Bytes(seed, b)
			if prev, ok := sent[c.ID]; ok && prev == h {
				continue // only the history changed
			}
			if len(sent) >= streamDedupCases {
				clear(sent)
			}
			sent[c.ID] = h
			if u := f.ackURL(ctx, c); u != "" { // acklink.go
				if lb, err := json.Marshal(linkedCase{Case: c, AckURL: u}); err == nil {
					b = lb
				}
			}
			_, _ = w.WriteString("id: " + strconv.FormatUint(ev.Revision, 10) + "\nevent: case\ndata: ")
			_, _ = w.Write(b)
			_, _ = w.WriteString("\n\n")
			if !flush() {
				return
			}
		}
	}
}
