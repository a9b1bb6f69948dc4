// Package labels is the label model of Wharf's alarms, compatible with
// Alertmanager's: a label Set, its fingerprint (the same 64-bit value as
// Alertmanager's and Prometheus' model.LabelSet.Fingerprint), and matchers
// with Alertmanager's four operators and its "classic" matcher syntax, as
// amtool and the API v2 filter parameter write them:
//
//	team=shop
//	priority=~"[0-2]"
//	{alertname="cpu", endpoint!~"web-.*"}
//
// Regular expressions are RE2 and fully anchored ("^(?:" + re + ")$"), so
// "web" matches only "web" and "web.*" every value starting with "web". A
// label that is absent matches as the empty string: "app=" selects sets
// without an app label, "app!=" sets with one.
//
// Pure: no I/O, safe for concurrent use once built.
package labels
