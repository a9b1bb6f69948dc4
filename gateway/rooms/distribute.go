package rooms

import (
	"maps"
	"math"
	"slices"
)

// RoomHealth is how many of a room's instances can take traffic: Total
// live instances (heartbeat TTL not expired) of which Healthy are neither
// ejected by passive health nor failing active checks.
type RoomHealth struct {
	Healthy int `json:"healthy"`
	Total   int `json:"total"`
}

// Share is Healthy / Total in [0, 1]; 0 for a room without instances.
func (h RoomHealth) Share() float64 {
	if h.Total <= 0 || h.Healthy <= 0 {
		return 0
	}
	if h.Healthy >= h.Total {
		return 1
	}
	return float64(h.Healthy) / float64(h.Total)
}

// Health is the health of every room of one service. A room missing from
// it has no instances.
type Health map[string]RoomHealth

// Distribution is the share of a service's traffic each room gets, in
// [0, 1], summing to 1 (or empty when the policy has no positive weight).
// It names every room of the policy, those getting nothing with 0.
type Distribution map[string]float64

// Distribute is the effective distribution of p's traffic under health h,
// without hysteresis (a Failover adds that):
//
//  1. each room starts with its configured weight, as a share of the sum;
//  2. a room at or above p's threshold keeps all of it; a degraded room
//     keeps min(1, healthy share × overprovision) of it (Envoy's priority
//     load with factor 1.4: 50 % healthy keeps 70 %, 0 % keeps nothing);
//  3. the rest spills down the failover order (Policy.Priority): each room
//     there can carry, in all, the fraction it would keep of the whole
//     traffic (Envoy's assumption that a failover room is sized to take
//     over), so it takes as much of the spill as it has room for and
//     passes the remainder on; spills are served in failover order;
//  4. what no room can take is shared in proportion to what each room
//     carries (Envoy's normalisation when total health is below 100 %);
//  5. if no room the policy may send traffic to has a healthy instance,
//     the configured weights apply as they are, over the rooms that have
//     any instance at all (panic mode: better to try than to fail every
//     request at the gateway).
func Distribute(p Policy, h Health) Distribution {
	r := distribute(p, h, plainKept(p, h))
	if r.sum == 0 {
		return panicDistribution(p, h)
	}
	return r.dist
}

// plainKept is the fraction of its weight each room keeps under health h,
// without hysteresis.
func plainKept(p Policy, h Health) map[string]float64 {
	rooms := p.Rooms()
	kept := make(map[string]float64, len(rooms))
	for _, r := range rooms {
		kept[r] = keptFraction(p, h[r].Share())
	}
	return kept
}

// keptFraction is the fraction of its weight a room with healthy share s
// keeps: all of it at or above the threshold, else min(1, s × factor).
func keptFraction(p Policy, s float64) float64 {
	if s >= p.threshold() {
		return 1
	}
	return math.Min(1, s*p.overprovision())
}

// result is one run of the spill algorithm.
type result struct {
	dist Distribution
	// sum is the traffic assigned before normalisation; 0 means no room
	// could take any.
	sum float64
	// spillTo lists, per degraded room, the rooms that took its spill.
	spillTo map[string][]string
}

// spillEpsilon is the least traffic share worth moving.
const spillEpsilon = 1e-12

// distribute runs steps 1-4 of Distribute with the given kept fraction per
// room (each in [0, 1]).
func distribute(p Policy, h Health, kept map[string]float64) result {
	rooms := p.Rooms()
	res := result{dist: make(Distribution, len(rooms)), spillTo: map[string][]string{}}
	var total float64
	for _, w := range p.Weights {
		total += float64(max(w, 0))
	}
	if total == 0 {
		for _, r := range rooms {
			res.dist[r] = 0
		}
		return res
	}
	carried := make(map[string]float64, len(rooms))
	spill := make(map[string]float64, len(rooms))
	free := make(map[string]float64, len(rooms))
	for _, r := range rooms {
		w := float64(max(p.Weights[r], 0)) / total
		k := kept[r]
		carried[r] = w * k
		spill[r] = w * (1 - k)
		free[r] = k - w*k
	}
	order := p.failoverOrder()
	sources := slices.Clone(order)
	for _, r := range rooms {
		if !slices.Contains(order, r) {
			sources = append(sources, r)
		}
	}
	for _, src := range sources {
		rem := spill[src]
		for _, q := range order {
			if rem <= spillEpsilon {
				break
			}
			if q == src || free[q] <= spillEpsilon {
				continue
			}
			take := math.Min(rem, free[q])
			carried[q] += take
			free[q] -= take
			rem -= take
			res.spillTo[src] = append(res.spillTo[src], q)
		}
	}
	for _, r := range rooms {
		res.sum += carried[r]
	}
	for _, r := range rooms {
		if res.sum > 0 {
			res.dist[r] = carried[r] / res.sum
		} else {
			res.dist[r] = 0
		}
	}
	return res
}

// panicDistribution is the configured weights over the rooms with any
// instance, or over all rooms if none has one.
func panicDistribution(p Policy, h Health) Distribution {
	rooms := p.Rooms()
	d := make(Distribution, len(rooms))
	var total, live float64
	for _, r := range rooms {
		w := float64(max(p.Weights[r], 0))
		total += w
		if h[r].Total > 0 {
			live += w
		}
	}
	for _, r := range rooms {
		w := float64(max(p.Weights[r], 0))
		switch {
		case live > 0 && h[r].Total > 0:
			d[r] = w / live
		case live == 0 && total > 0:
			d[r] = w / total
		default:
			d[r] = 0
		}
	}
	return d
}

// Clone returns a copy of d.
func (d Distribution) Clone() Distribution { return maps.Clone(d) }
