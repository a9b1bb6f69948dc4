// Package rooms is the pure logic of a service's rooms (datacenters): the
// room policy, the effective distribution of traffic under failover, the
// choice of a room per request, and staged switches between weight sets.
// It does no I/O, starts no goroutine and reads no clock: the caller
// passes the time in, so everything is deterministic under test.
//
// # Pieces
//
//   - Policy (policy.go) is a service's stored, JSON policy: weight per
//     room, failover priority, threshold (default 70 % healthy),
//     overprovisioning factor (default 1.4, Envoy's), hysteresis
//     (RecoverAfter, default 30 s) and stickiness.
//   - Distribute (distribute.go) turns a policy and the rooms' health into
//     shares of traffic, Envoy style: a degraded room keeps
//     min(1, healthy share × 1.4) of its weight and the rest spills down the
//     priority list; with no healthy room anywhere, panic mode uses the
//     configured weights.
//   - Failover (failover.go) adds hysteresis (a room's traffic returns only
//     after it has been healthy for RecoverAfter) and reports each decision
//     as an Event.
//   - Chooser (chooser.go) picks a room per request from a Distribution:
//     weighted random (Pick) or, for sticky policies, weighted rendezvous
//     hashing on a client key (PickSticky). No allocation, no lock.
//   - Switch and Record (switch.go, record.go) stage a move from one set of
//     weights to another (10 % → 50 % → 100 % with a step interval;
//     pausable, abortable), with a history Record of who, why, from, to,
//     when and every step.
//
// # How the gateway uses it
//
// Per request, for a service with rooms:
//
//	ch := svc.chooser.Load()              // *Chooser, swapped atomically
//	room := ch.PickIndex(rand.Uint64())   // or ch.PickStickyIndex(clientKey) if the policy is sticky
//	pool := svc.pools[ch.Room(room)]      // that room's instances
//	i := pool.balancer.Pick(pool.mask())  // balance.P2C over the room's eligible instances
//
// If the room's balancer returns -1 (everything there ejected since the
// last evaluation), the gateway retries the pick once over the other rooms
// (or simply the next room of the failover order) rather than failing the
// request.
//
// A background evaluator per gateway node runs every second, per service:
//
//	weights := policy.Weights
//	if sw != nil { weights, changed = sw.Advance(now) } // or the stored Record's Weights()
//	health := rooms.Health{...}           // per room: live instances (TTL not expired) and those not ejected / failing checks
//	dist, events := failover.Evaluate(now, policy.WithWeights(weights), health)
//	svc.chooser.Store(rooms.NewChooser(dist)) // only when dist changed
//	for _, e := range events { log, count by e.Kind, keep the last ones for the API }
//
// The policy and any running switch live in the store; every node watches
// them. One controller (the node holding the switch's record, updated by
// compare-and-swap on its version) calls Advance, Pause, Resume and Abort
// and writes the Record back after each change; the other nodes apply
// Record.Weights from the watch, so every node moves within a watch delay
// of each step. The pools of a room whose weight dropped are kept until
// Record.DrainUntil; requests already proxied to them finish regardless.
package rooms
