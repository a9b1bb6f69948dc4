// Package ratelimit is the gateway's local rate limiting: an exact
// re-implementation of nginx limit_req (Zone, Set, and the Limiter wrapper)
// and an nginx limit_conn-style concurrency limiter (ConnLimiter). The
// cluster subpackage evaluates the same algorithm in Redis for several nodes.
//
// # Zones and sets
//
// A Zone is one named limit (nginx limit_req_zone plus the limit_req
// parameters) with its state table. Routes share a zone by listing it in
// their Set (the zones decided together for one request); every Set that
// lists a zone charges the same table. Zone.With makes a view of the same
// state with new settings, so a configuration reload keeps every key's excess
// (milli-requests) and last charge; the state then drains at the new rate.
// Zones are created through a Registry (one clock, increasing table ids); the
// shards of a decision are locked in table-id order, one global order for all
// Sets of the Registry, so Sets [A,B] and [B,A] cannot deadlock. Limiter (New)
// is a Set of zones of its own.
//
// # limit_req semantics
//
// Each key keeps excess (thousandths of a request) and last (ms). Rates are
// thousandths of a request per second (ParseRate: "Nr/s" → N*1000, "Nr/m" →
// N*1000/60). For a request at now:
//
//   - new key: excess 0, accepted, stored with last = now;
//   - otherwise ms = now-last (ms < -60000 → 1, ms < 0 → 0) and
//     excess = max(0, stored - rate*ms/1000 + 1000);
//   - excess > burst*1000 → rejected, state unchanged;
//   - else stored, and the request waits (excess - delay*1000)*1000/rate ms
//     when excess > delay*1000. Delay 0 is nginx's default (everything over
//     the rate is delayed); NoDelay (-1) is "nodelay".
//
// Several limits are evaluated as one decision: Decide locks the shard of
// every zone's key in table-id order (each zone table owns its shards, so the
// order is global and cannot deadlock), evaluates all in the caller's order,
// and charges all only if none rejects. A rejection therefore leaves every limit unchanged and there is no
// window between evaluation and commit. The request waits for the largest
// delay. An empty key skips its limit.
//
// Dry-run limits never reject or delay: a would-be delay is charged and
// reported DELAYED_DRY_RUN, a would-be rejection is not charged and reported
// REJECTED_DRY_RUN; a dry-run rejection does not stop other limits from being
// charged. The overall Outcome is the most severe one, REJECTED > DELAYED >
// REJECTED_DRY_RUN > DELAYED_DRY_RUN > PASSED.
//
// # Memory
//
// Every limit has 64 shards (mutex + map[string]*entry + LRU list ordered by
// last charge), chosen by maphash of the key. Lookups with a []byte key do not
// allocate; a new key is copied once. On insert up to two stale entries are
// dropped if idle, and when a shard holds MaxKeys/64 entries its stalest entry
// is evicted. "Idle" means rate*(now-last)/1000 >= excess+1000: the next
// request would compute excess 0 exactly as for a new key, so dropping it is
// unobservable (unless the clock later jumps backwards). Sweep drops all idle
// keys.
//
// # Response fields
//
// See headers.go: RateLimit-Policy `"name";q=<quota>;w=<window>`, RateLimit
// `"name";r=<remaining>;t=<seconds>`, and Decision.RetryAfterSeconds.
package ratelimit
