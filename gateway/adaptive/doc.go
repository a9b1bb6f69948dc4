// Package adaptive is a per-service concurrency limiter that adapts to
// measured latency and throughput: a Go rendering of brpc's
// AutoConcurrencyLimiter (src/brpc/policy/auto_concurrency_limiter.cpp).
//
// # Algorithm
//
// Responses are sampled (at most one per SampleInterval, 100 µs) into a
// window. A window closes when it holds 200 samples, or when it is 1 s old
// and holds at least 100; a window that is 1 s old with fewer than 100
// samples is discarded. When a window closes:
//
//	avg_latency = (Σ success latency + Σ failure latency × punishment) / successes
//	qps         = successes in the window (all, not only sampled) / window duration
//	min_latency = avg_latency if unset, else EMA toward avg_latency
//	              (alpha 0.1) only when avg_latency is lower
//	max_qps     = qps if higher, else EMA toward qps (alpha 0.01)
//	explore     += 0.02 (cap 0.3) if avg_latency ≤ min_latency × 1.06
//	                              or qps ≤ max_qps / 1.06,
//	               else −= 0.02 (floor 0.06)
//	limit       = min_latency × max_qps × (1 + explore)
//
// explore starts at 0.3 and the limit at InitialLimit (40). A window with
// no success at all halves the limit.
//
// Failures: a failed request's latency is added to the window's total but it
// is not counted as a success, so the average is inflated by the failures'
// latency times FailurePunishment (1.0). A burst of fast failures (connection
// refused) therefore cannot make the upstream look faster; slow failures
// (timeouts) push the average up, which the explore rule reads as overload.
// Requests the limiter rejected are never sampled.
//
// # No-load latency re-measure
//
// min_latency only moves down, so a permanently slower upstream (new
// version, colder cache) would otherwise be over-admitted forever. Every
// 25–50 s (uniformly random in [RemeasureInterval/2, RemeasureInterval),
// redrawn each time) the window that closes sets
//
//	limit = ceil(max_qps × min_latency × 0.9)
//
// (no explore headroom, 0.9× the estimated no-load concurrency) and then
// ignores samples for 2 × avg_latency, so the requests admitted under the
// old limit drain. The first sample after that forgets min_latency and opens
// a fresh window, whose average (taken at ~0.9× of no-load concurrency) sets
// min_latency anew; from that window on the limit follows the formula again.
// This is brpc's _remeasure_start_us / _reset_latency_us sequence.
//
// # Hot path
//
// Acquire is one atomic add and one load (plus a second add on rejection);
// Release is two atomic adds, a clock read, and a compare-and-swap for the
// one response per SampleInterval that is sampled, which then takes a mutex.
// Neither allocates.
package adaptive
