package rooms

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// RoomState is where a room is in the failover cycle.
type RoomState string

// Room states.
const (
	// RoomHealthy: the room keeps its full weight.
	RoomHealthy RoomState = "healthy"
	// RoomDegraded: the room is below the threshold now and keeps only
	// part of its weight; the rest spills.
	RoomDegraded RoomState = "degraded"
	// RoomRecovering: the room is at or above the threshold again but the
	// hysteresis still holds it at the reduced fraction.
	RoomRecovering RoomState = "recovering"
)

// EventKind is the kind of a failover decision.
type EventKind string

// Event kinds.
const (
	// EventDegraded: a room that kept its full weight starts to spill.
	EventDegraded EventKind = "degraded"
	// EventSpill: a degraded or recovering room's kept fraction changed
	// by at least one percentage point.
	EventSpill EventKind = "spill"
	// EventRecovered: a room has been healthy for the hysteresis period
	// and gets its full weight back.
	EventRecovered EventKind = "recovered"
	// EventPanic: no room the policy may send traffic to has a healthy
	// instance; the configured weights apply as they are.
	EventPanic EventKind = "panic"
	// EventPanicOver: some room is healthy again; panic mode ends.
	EventPanicOver EventKind = "panic_over"
)

// eventStep is the least change of a kept fraction worth an EventSpill.
const eventStep = 0.01

// Event is one failover decision, for the log, a counter and the API.
type Event struct {
	At   time.Time `json:"at"`
	Kind EventKind `json:"kind"`
	// Room is empty for EventPanic and EventPanicOver.
	Room string `json:"room,omitempty"`
	// Healthy is the room's healthy share; Kept the fraction of its
	// weight it keeps; SpillTo the rooms that took the rest, in order.
	Healthy float64  `json:"healthy"`
	Kept    float64  `json:"kept"`
	SpillTo []string `json:"spill_to,omitempty"`
}

// String renders e as a log line, e.g. "room bj at 40 % healthy: keeps 56 %
// of its traffic, 44 % spills to sh".
func (e Event) String() string {
	pct := func(f float64) int { return int(math.Round(f * 100)) }
	switch e.Kind {
	case EventPanic:
		return "no room has a healthy instance: panic mode, configured weights apply"
	case EventPanicOver:
		return "a room has healthy instances again: panic mode over"
	case EventRecovered:
		return fmt.Sprintf("room %s healthy again (%d %%): traffic returns", e.Room, pct(e.Healthy))
	}
	to := "nowhere (shared by the rooms still serving)"
	if len(e.SpillTo) > 0 {
		to = strings.Join(e.SpillTo, ", ")
	}
	return fmt.Sprintf("room %s at %d %% healthy: keeps %d %% of its traffic, %d %% spills to %s",
		e.Room, pct(e.Healthy), pct(e.Kept), 100-pct(e.Kept), to)
}

// RoomStatus is one room's failover state, for the API.
type RoomStatus struct {
	Room  string    `json:"room"`
	State RoomState `json:"state"`
	// Healthy is the healthy share at the last evaluation; Kept the
	// fraction of its weight the room keeps; Share its share of all the
	// service's traffic.
	Healthy float64 `json:"healthy"`
	Kept    float64 `json:"kept"`
	Share   float64 `json:"share"`
	// RecoverAt is, for a recovering room, when its full weight returns
	// if it stays healthy.
	RecoverAt time.Time `json:"recover_at,omitzero"`
}

// Failover is Distribute with hysteresis for one service. It remembers,
// per room, the fraction of its weight the room could keep at each
// evaluation, and lets the room keep the lowest of them over the last
// Policy.RecoverAfter: a drop in health takes traffic away at the next
// evaluation, a rise gives it back only once it has lasted RecoverAfter.
// A room whose health oscillates around the threshold therefore keeps the
// reduced fraction instead of flapping, and a room that came back gets its
// full weight when it has been at or above the threshold for RecoverAfter
// without a break.
//
// A Failover is not safe for concurrent use: one evaluator goroutine owns
// it and publishes each Distribution (as a Chooser) for the request path.
type Failover struct {
	rooms map[string]*roomTrack
	panic bool
	last  Distribution
}

// roomTrack is one room's memory.
type roomTrack struct {
	window       minWindow
	healthy      float64
	kept         float64
	state        RoomState
	aboveSince   time.Time // start of the current run at or above threshold
	reported     float64   // kept at the last event
	recoverAfter time.Duration
}

// NewFailover returns a Failover with every room healthy.
func NewFailover() *Failover { return &Failover{rooms: map[string]*roomTrack{}} }

// Evaluate records health h at now and returns the distribution of p's
// traffic (p's weights are the ones in effect: a running Switch's, see
// Policy.WithWeights) and the failover decisions taken, in room order.
// Call it at a steady pace (the gateway: every second) with a
// non-decreasing now.
//
// If the hysteresis would leave no room with any traffic while some room
// is healthy, the plain distribution (Distribute) applies instead; if no
// room is healthy at all, panic mode applies, as in Distribute.
func (f *Failover) Evaluate(now time.Time, p Policy, h Health) (Distribution, []Event) {
	var events []Event
	rooms := p.Rooms()
	kept := make(map[string]float64, len(rooms))
	for r := range f.rooms {
		if !slices.Contains(rooms, r) {
			delete(f.rooms, r)
		}
	}
	for _, r := range rooms {
		t := f.rooms[r]
		if t == nil {
			t = &roomTrack{state: RoomHealthy, kept: 1, reported: 1}
			f.rooms[r] = t
		}
		t.healthy = h[r].Share()
		t.recoverAfter = p.recoverAfter()
		plain := keptFraction(p, t.healthy)
		if plain < 1 {
			t.aboveSince = time.Time{}
		} else if t.aboveSince.IsZero() {
			t.aboveSince = now
		}
		t.kept = t.window.add(now, plain, t.recoverAfter)
		kept[r] = t.kept
	}

	res := distribute(p, h, kept)
	plain := false
	if res.sum == 0 {
		res, plain = distribute(p, h, plainKept(p, h)), true
	}
	dist := res.dist
	switch {
	case res.sum == 0 && !f.panic:
		f.panic = true
		events = append(events, Event{At: now, Kind: EventPanic})
	case res.sum > 0 && f.panic:
		f.panic = false
		events = append(events, Event{At: now, Kind: EventPanicOver})
	}
	if f.panic {
		dist = panicDistribution(p, h)
	}

	for _, r := range rooms {
		t := f.rooms[r]
		if plain {
			// The hysteresis is overruled: report what applies.
			t.kept = keptFraction(p, t.healthy)
		}
		prev := t.state
		switch {
		case t.kept >= 1:
			t.state = RoomHealthy
		case keptFraction(p, t.healthy) < 1:
			t.state = RoomDegraded
		default:
			t.state = RoomRecovering
		}
		ev := Event{At: now, Room: r, Healthy: t.healthy, Kept: t.kept, SpillTo: res.spillTo[r]}
		switch {
		case prev == RoomHealthy && t.state != RoomHealthy:
			ev.Kind = EventDegraded
		case prev != RoomHealthy && t.state == RoomHealthy:
			ev.Kind = EventRecovered
		case t.state != RoomHealthy && math.Abs(t.kept-t.reported) >= eventStep:
			ev.Kind = EventSpill
		default:
			continue
		}
		t.reported = t.kept
		events = append(events, ev)
	}
	f.last = dist
	return dist.Clone(), events
}

// Status is every room's failover state at the last evaluation, sorted by
// room, and whether panic mode is on.
func (f *Failover) Status() (rooms []RoomStatus, panic bool) {
	for r, t := range f.rooms {
		st := RoomStatus{Room: r, State: t.state, Healthy: t.healthy, Kept: t.kept, Share: f.last[r]}
		if t.state == RoomRecovering && !t.aboveSince.IsZero() {
			st.RecoverAt = t.aboveSince.Add(t.recoverAfter)
		}
		rooms = append(rooms, st)
	}
	slices.SortFunc(rooms, func(a, b RoomStatus) int { return strings.Compare(a.Room, b.Room) })
	return rooms, f.panic
}

// minWindow is the minimum of a sampled value over a sliding time window,
// each sample holding from its time until the next one (a monotonic
// deque: values strictly increase from front to back).
type minWindow struct{ q []sample }

type sample struct {
	at, end time.Time // end: when the next sample came; zero for the newest
	v       float64
}

// add records v at now and returns the minimum over [now-span, now].
func (w *minWindow) add(now time.Time, v float64, span time.Duration) float64 {
	if n := len(w.q); n > 0 {
		w.q[n-1].end = now
	}
	for len(w.q) > 0 && w.q[len(w.q)-1].v >= v {
		w.q = w.q[:len(w.q)-1]
	}
	w.q = append(w.q, sample{at: now, v: v})
	cut := now.Add(-span)
	drop := 0
	for drop < len(w.q)-1 && !w.q[drop].end.After(cut) {
		drop++
	}
	if drop > 0 {
		w.q = append(w.q[:0], w.q[drop:]...)
	}
	return w.q[0].v
}
