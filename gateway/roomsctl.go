package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/gateway/proxy"
	"github.com/wharfhq/wharf/gateway/rooms"
	"github.com/wharfhq/wharf/gateway/roomswitch"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/mirror"
)

// roomService is a service with a room policy in one snapshot.
type roomService struct {
	policy rooms.Policy
	svc    *proxy.Service
}

// RoomEvaluateEvery is how often every node re-evaluates the rooms'
// health and takes due switch steps.
const RoomEvaluateEvery = time.Second

// maxRoomEvents is how many failover decisions per service the API shows.
const maxRoomEvents = 32

// roomsCtl puts each service's room distribution in effect on this node:
// the weights in effect (a running switch's, else the policy's), adjusted
// for the rooms' health by a rooms.Failover with hysteresis, turned into a
// rooms.Chooser that the service's requests pick their room with. It runs
// after every snapshot rebuild (before the snapshot is served, so new
// pools never serve a moment without their rooms), on every switch record
// change from the store, and every RoomEvaluateEvery; then it also takes
// the switch steps that are due.
type roomsCtl struct {
	log *slog.Logger
	// store is nil when the gateway has no store (no switches then).
	store *roomswitch.Store
	recs  atomic.Pointer[map[string]rooms.Record]

	mu       sync.Mutex
	services map[string]*roomTrack
	events   *metrics.Set
	// kicked asks for an evaluation before the next tick.
	kicked chan struct{}
}

// kick asks for an evaluation soon, without blocking.
func (c *roomsCtl) kick() {
	select {
	case c.kicked <- struct{}{}:
	default:
	}
}

// roomTrack is what the controller remembers of one service.
type roomTrack struct {
	failover  *rooms.Failover
	svc       *proxy.Service
	sticky    bool
	dist      rooms.Distribution
	health    rooms.Health
	weights   map[string]int
	weightsAt time.Time
	// switchID and switchStep are the switch step whose weights this node
	// applied at weightsAt.
	switchID   string
	switchStep int
	events     []rooms.Event
}

func newRoomsCtl(log *slog.Logger, set *metrics.Set, st *roomswitch.Store) *roomsCtl {
	c := &roomsCtl{log: log.With("component", "rooms"), store: st, services: map[string]*roomTrack{}, events: set, kicked: make(chan struct{}, 1)}
	c.recs.Store(&map[string]rooms.Record{})
	return c
}

// records is the switch records this node follows, by service.
func (c *roomsCtl) records() map[string]rooms.Record { return *c.recs.Load() }

// evaluate puts the room distributions of snap's services in effect. The
// caller holds the gateway's rebuildMu, so evaluations never interleave.
func (c *roomsCtl) evaluate(snap *snapshot, now time.Time) {
	recs := c.records()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.services {
		if _, ok := snap.rooms[name]; !ok {
			delete(c.services, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(snap.rooms)) {
		rs := snap.rooms[name]
		t := c.services[name]
		if t == nil {
			t = &roomTrack{failover: rooms.NewFailover()}
			c.services[name] = t
		}
		var rec *rooms.Record
		if r, ok := recs[name]; ok {
			rec = &r
		}
		weights := roomswitch.Effective(rs.policy.Weights, snap.edgeAt, rec)
		t.health = rs.svc.RoomHealth()
		dist, events := t.failover.Evaluate(now, rs.policy.WithWeights(weights), t.health)
		if t.svc != rs.svc || t.sticky != rs.policy.Sticky || !maps.Equal(dist, t.dist) {
			rs.svc.SetRooms(rooms.NewChooser(dist), rs.policy.Sticky)
			t.svc, t.sticky, t.dist = rs.svc, rs.policy.Sticky, dist
		}
		if !maps.Equal(weights, t.weights) {
			t.weights, t.weightsAt = weights, now
			t.switchID, t.switchStep = "", 0
			attrs := []any{"service", name, "weights", weights}
			if rec != nil && !rec.ChangedAt().IsZero() && maps.Equal(weights, rec.Weights()) {
				t.switchID, t.switchStep = rec.ID, rec.Current+1
				attrs = append(attrs, "switch", rec.ID, "step", rec.Current+1, "of", len(rec.Steps),
					"lag", now.Sub(rec.ChangedAt()).Round(time.Millisecond))
			}
			c.log.Info("room weights applied", attrs...)
		}
		for _, e := range events {
			c.events.GetOrCreateCounter(fmt.Sprintf(`wharf_gateway_room_failover_events_total{service=%q,kind=%q}`, name, e.Kind)).Inc()
			c.log.Warn("room failover: "+e.String(), "service", name, "kind", e.Kind, "room", e.Room, "healthy", e.Healthy, "kept", e.Kept)
			t.events = append(t.events, e)
		}
		if n := len(t.events) - maxRoomEvents; n > 0 {
			t.events = slices.Delete(t.events, 0, n)
		}
	}
}

// tick takes the switch steps due now; it reports whether any was taken
// (the caller evaluates again at once rather than wait for the watch).
func (c *roomsCtl) tick(ctx context.Context) bool {
	if c.store == nil {
		return false
	}
	changed := c.store.Tick(ctx, c.records())
	if len(changed) == 0 {
		return false
	}
	next := maps.Clone(c.records())
	for _, r := range changed {
		next[r.Service] = r
	}
	c.recs.Store(&next)
	return true
}

// load reads the switch records once, so the first snapshot starts with
// the weights of a switch in progress; a store that does not answer leaves
// them to the watch.
func (c *roomsCtl) load(ctx context.Context, src store.Store, st *roomswitch.Store) {
	recs := map[string]rooms.Record{}
	for e, err := range store.Entries(ctx, src, st.Prefix(), store.ScanOptions{}) {
		if err != nil {
			c.log.Warn("cannot read room switches; following them once the store answers", "err", err)
			return
		}
		if svc := st.ServiceOf(e.Key); svc != "" {
			if r, err := roomswitch.Decode(e.Value); err == nil {
				recs[svc] = r
			}
		}
	}
	c.recs.Store(&recs)
}

// follow mirrors the switch records from the store, calling changed after
// each new set.
func (c *roomsCtl) follow(ctx context.Context, st *roomswitch.Store, src store.Store, changed func()) error {
	m, err := mirror.New(src, mirror.Options{Prefix: st.Prefix(), Logger: c.log, OnChange: func(entries map[string][]byte) {
		recs := make(map[string]rooms.Record, len(entries))
		for k, v := range entries {
			svc := st.ServiceOf(k)
			if svc == "" {
				continue
			}
			r, err := roomswitch.Decode(v)
			if err != nil {
				c.log.Warn("ignoring an unreadable room switch record", "key", k, "err", err)
				continue
			}
			recs[svc] = r
		}
		c.recs.Store(&recs)
		changed()
	}})
	if err != nil {
		return err
	}
	return m.Run(ctx)
}

// RoomsStatus is one service's rooms as this gateway node sees them.
type RoomsStatus struct {
	Service string         `json:"service"`
	Policy  rooms.Policy   `json:"policy"`
	Weights map[string]int `json:"weights"`
	// WeightsAt is when this node applied Weights; SwitchID and SwitchStep
	// the switch step they came from (empty/0: the policy's).
	WeightsAt    time.Time          `json:"weights_at"`
	SwitchID     string             `json:"switch_id,omitempty"`
	SwitchStep   int                `json:"switch_step,omitempty"`
	Distribution rooms.Distribution `json:"distribution"`
	Health       rooms.Health       `json:"health"`
	Rooms        []rooms.RoomStatus `json:"rooms"`
	Panic        bool               `json:"panic"`
	Events       []rooms.Event      `json:"events"`
}

// RoomsStatus reports the rooms of a service with a room policy on this
// node; false when it has none.
func (g *Gateway) RoomsStatus(service string) (RoomsStatus, bool) {
	snap := g.snap.Load()
	rs, ok := snap.rooms[service]
	if !ok {
		return RoomsStatus{}, false
	}
	c := g.rooms
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.services[service]
	if t == nil {
		return RoomsStatus{}, false
	}
	st := RoomsStatus{Service: service, Policy: rs.policy.WithDefaults(), Weights: maps.Clone(t.weights), WeightsAt: t.weightsAt,
		SwitchID: t.switchID, SwitchStep: t.switchStep, Distribution: t.dist.Clone(), Health: maps.Clone(t.health),
		Events: slices.Clone(t.events)}
	st.Rooms, st.Panic = t.failover.Status()
	if st.Events == nil {
		st.Events = []rooms.Event{}
	}
	return st, true
}
