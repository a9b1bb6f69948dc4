// Package balance chooses an instance inside one room of a service: load
// weights, two balancing policies and passive health.
//
// # Pieces
//
//   - Weigher turns the load instances report in their heartbeats (Load:
//     CPU, memory, in-flight requests) into effective weights; an instance
//     whose report is older than StaleAfter keeps its static weight.
//   - P2C (power of two choices, the default Policy) and SWRR (nginx's smooth
//     weighted round-robin) implement Balancer. Both take the effective
//     weights and a Mask of eligible instances, so ejected, unhealthy or
//     expired instances are skipped without rebuilding anything.
//   - Ejector is passive health: N consecutive failures eject an instance for
//     a back-off period that doubles on repeated ejections.
//
// # Request path
//
// Per request the gateway does, for the room it chose:
//
//	var buf [1]uint64 // one word per 64 instances
//	m := ejector.Eligible(buf[:])    // nil (the common case): all eligible
//	i := balancer.Pick(m)            // -1: nothing eligible, fail over
//	... proxy to instance i ...
//	balancer.Done(i)                 // exactly once per successful Pick
//	ejector.Report(i, ok)            // ok = connected and status < 500
//
// Pick, Done, Report and Eligible do not allocate and are safe for
// concurrent use. When a heartbeat changes an instance's load (or a report
// goes stale), the gateway recomputes the weights with Weigher.Weights and
// calls Balancer.SetWeights, which keeps P2C's in-flight counts. A new
// instance set (registry change) builds a new Balancer and Ejector; requests
// picked from the old one call Done on the old one.
//
// # Choosing the default
//
// P2C is the default. It reads in-flight counts the gateway keeps itself, so
// an instance that slows down gets less traffic within one request latency,
// not one heartbeat (3 s) later and not only if it reports its load; it
// takes no lock and costs the same at 4 and 64 instances. SWRR serialises
// every pick through a mutex and walks all instances.
//
// Measured on a 2-core VM (go test -bench . -benchmem ./gateway/balance/,
// medians of 3; all 0 allocs/op):
//
//	Pick+Done         n=4 serial  n=4 parallel  n=64 serial  n=64 parallel
//	round-robin (ref)    5 ns        6 ns          5 ns         5 ns
//	swrr                14 ns       14 ns         88 ns        97 ns
//	p2c                 16 ns       15–40 ns      16 ns        12–40 ns
//
// Distribution (sim_test.go: discrete-event model, 4 instances × 8 workers,
// Poisson arrivals, 40 000 requests; share of instance 3 relative to a peer):
//
//	scenario                         swrr                  p2c
//	equal instances, 70 % load       100 %, p99 47 ms      100 ± 1 %, p99 46 ms
//	instance 3 3× slower, unreported 100 %, p99 11.7 s     41 %, p99 76 ms
//	instance 3 reports 3× the CPU    38 %                  37 %
//
// With equal instances both are even; with weights from reported load both
// shift traffic alike; only P2C notices an instance that is slow without
// saying so, where SWRR keeps feeding it its full share until its queue
// grows without bound.
package balance
