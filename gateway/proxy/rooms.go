package proxy

import (
	"math/rand/v2"

	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/rooms"
)

// roomPlan is the room choice of a service in effect: which room a request
// goes to (the Chooser, built from the rooms' current distribution) and
// which instances are in each room. It is immutable; SetRooms swaps a new
// one in.
type roomPlan struct {
	ch     *rooms.Chooser
	sticky bool
	// masks[i] is the instances of the Chooser's room i.
	masks []balance.Mask
	// active is the instances of every room with a positive share: where a
	// request goes when its room has no eligible instance left.
	active balance.Mask
}

// maxPlanWords bounds the instance count a room plan covers without
// allocating per request (the stack buffers of pick): 256 instances.
const maxPlanWords = 4

// SetRooms puts a room choice in effect: each request picks a room with ch
// (weighted at random, or by its client key when sticky) and then an
// instance of that room. A nil or empty ch, or a service whose instances
// have no rooms, goes back to picking among all instances. Requests in
// flight are not affected. Safe for concurrent use with requests.
func (s *Service) SetRooms(ch *rooms.Chooser, sticky bool) {
	if ch == nil || ch.Len() == 0 || len(s.roomOf) == 0 || s.bal == nil || balance.MaskWords(len(s.instances)) > maxPlanWords {
		s.plan.Store(nil)
		return
	}
	words := balance.MaskWords(len(s.instances))
	p := &roomPlan{ch: ch, sticky: sticky, masks: make([]balance.Mask, ch.Len()), active: make(balance.Mask, words)}
	for ri := range p.masks {
		m := make(balance.Mask, words)
		name := ch.Room(ri)
		for i, r := range s.roomOf {
			if r == name {
				m.Set(i)
				p.active.Set(i)
			}
		}
		p.masks[ri] = m
	}
	s.plan.Store(p)
}

// RoomOf is the room of instance i ("" when it has none).
func (s *Service) RoomOf(i int) string {
	if i < 0 || i >= len(s.roomOf) {
		return ""
	}
	return s.roomOf[i]
}

// HasRooms reports whether any instance of the service names a room.
func (s *Service) HasRooms() bool { return len(s.roomOf) > 0 }

// RoomHealth counts, per room, the service's instances and those that may
// take traffic now (not ejected by passive health, passing active checks),
// for rooms.Failover. Instances without a room are not counted.
func (s *Service) RoomHealth() rooms.Health {
	h := rooms.Health{}
	if len(s.roomOf) == 0 {
		return h
	}
	a := make(balance.Mask, balance.MaskWords(len(s.instances)))
	b := make(balance.Mask, len(a))
	el := s.eligible(a, b)
	for i, r := range s.roomOf {
		if r == "" {
			continue
		}
		rh := h[r]
		rh.Total++
		if el.Has(i) {
			rh.Healthy++
		}
		h[r] = rh
	}
	return h
}

// pickRoom chooses the first instance of a request under the room plan p:
// a room by p's Chooser, then the least loaded eligible instance there; if
// that room has none, any eligible instance of a room with traffic; if
// none of those either, -1 (the caller falls back to every eligible
// instance, then to every instance). key is the client key of sticky
// plans. buf is scratch of at least maxPlanWords words.
func (s *Service) pickRoom(p *roomPlan, eligible balance.Mask, key []byte, buf []uint64) int {
	ri := -1
	if p.sticky && len(key) > 0 {
		ri = p.ch.PickStickyIndex(key)
	} else {
		ri = p.ch.PickIndex(rand.Uint64())
	}
	if ri >= 0 {
		m := balance.Mask(buf[:len(p.masks[ri])])
		copy(m, p.masks[ri])
		if i := s.bal.Pick(m.And(eligible)); i >= 0 {
			return i
		}
	}
	m := balance.Mask(buf[:len(p.active)])
	copy(m, p.active)
	return s.bal.Pick(m.And(eligible))
}

// nextTarget is where a request goes after a connect failure on idx,
// with tried the instances it already failed on: an eligible instance of
// a room with traffic (so a retry stays out of rooms that were switched
// away), else any eligible instance (a standby room's, as failover would
// send it there anyway), else any instance not tried yet, in instance order
// from idx. buf is scratch of at least MaskWords(instances) words.
func (s *Service) nextTarget(eligible, tried balance.Mask, idx int, buf []uint64) int {
	n := len(s.instances)
	m := balance.Mask(buf[:balance.MaskWords(n)])
	if p := s.plan.Load(); p != nil {
		copy(m, p.active)
		if j := nextIn(m.And(eligible), tried, idx, n); j >= 0 {
			return j
		}
	}
	if eligible != nil {
		copy(m, eligible)
		if j := nextIn(m, tried, idx, n); j >= 0 {
			return j
		}
	}
	if j := nextIn(m.Fill(n), tried, idx, n); j >= 0 {
		return j
	}
	return (idx + 1) % n
}

// nextIn is the first instance after idx (wrapping) in m and not in tried,
// or -1.
func nextIn(m, tried balance.Mask, idx, n int) int {
	for k := 1; k <= n; k++ {
		if j := (idx + k) % n; m.Has(j) && !tried.Has(j) {
			return j
		}
	}
	return -1
}
