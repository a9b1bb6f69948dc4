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
// P2C is the default: it reads in-flight counts the gateway itself keeps, so
// an instance that slows down gets less traffic within one request latency
// rather than one heartbeat (3 s) later, it takes no lock and it is O(1) in
// the number of instances. SWRR serialises every pick through a mutex and
// walks all instances. The numbers are in balance_bench_test.go and
// sim_test.go (go test -bench . -benchmem ./gateway/balance/).
package balance
