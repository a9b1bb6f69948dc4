// Package acl is the gateway's IP access control: static allow/deny lists
// compiled into immutable tables, and temporary bans kept in the store and
// mirrored in memory on every gateway node.
//
// # Order of checks in the gateway
//
// The gateway resolves the client's real IP (and calls netip.Addr.Unmap on
// it), then, per request:
//
//  1. bans: BanSet.BannedOn(route, addr) — a global or route-scoped ban → 403;
//  2. lists: Evaluate(global, route, addr) — Denied or NotAllowed → 403;
//  3. rate limits; a client that is rate limited is reported to a Tracker,
//     which bans it (an auto ban) after N rejections within a window.
//
// # Composing global and per-route lists
//
// Evaluate(global, route, addr) combines two tables, either of which may be
// nil (no list):
//
//   - a deny match in either table → Denied (deny always beats allow);
//   - otherwise every table with a non-empty allow list must match, or the
//     result is NotAllowed — a route's allow list narrows the global one, it
//     never widens it;
//   - otherwise Allowed.
//
// Hot-path lookups (Table.Check, Evaluate, BanSet.Banned, BanSet.BannedOn)
// do not allocate; see table_bench_test.go and bans_bench_test.go.
package acl
