// Package amroute is Wharf's notification routing tree, with
// Alertmanager's semantics: a root route with a default receiver, child
// routes selected by matchers, "continue" to keep looking after a match,
// and group_by / group_wait / group_interval / repeat_interval inherited
// by children that do not set them. Match returns the same routes as
// Alertmanager's dispatcher and GroupKey the same group keys, so webhook
// payloads carry the same groupKey.
//
// A tree is decoded from YAML or JSON (Decode) in Alertmanager's route
// syntax, limited to "matchers" (the deprecated match / match_re are not
// read):
//
//	receiver: team-default
//	group_by: [alertname, team]
//	routes:
//	  - matchers: ['team="shop"', 'priority=~"[0-2]"']
//	    receiver: shop-pager
//	    group_wait: 10s
//	    continue: true
//
// Validation names each problem by its path ("routes[1].matchers[0]").
// Pure: no I/O; a compiled tree is immutable and safe to share.
package amroute
