// Package alarm is the alarm case model of Wharf's notify: the labels of a
// judge event, Alertmanager v2 posted alerts in the same model, and the
// alarm case with its history and the pure transition function Apply that
// the notify consumer drives (and de-duplicates with). Pure: no I/O, no
// clock reads — every time is passed in.
//
// # Labels of a Wharf event
//
// An event (monitoring/event, schema v1) has the labels
//
//	alertname  the strategy id (so Alertmanager tooling shows a name)
//	strategy   the strategy id
//	team       the strategy's team (absent when empty)
//	app        the pushed tag "app", when the point carries one
//	metric     the metric ("" for an expression strategy without one)
//	endpoint   the endpoint
//	priority   "0".."6"
//	status     "PROBLEM", "OK" or "NODATA"
//
// plus every pushed tag, its name made a valid label name (SanitizeName:
// "host-name" → "host_name"). A pushed tag whose (sanitized) name is one of
// the names above, other than "app", is kept as "tag_<name>" so that it
// never overrides what Wharf sets (a tag "team=x" becomes tag_team="x");
// two tags that sanitize to the same name keep the value of the first in
// byte order of the original names.
//
// # Cases
//
// A case is keyed by the event id ("s_42_<md5>") or, for an alert posted
// through the Alertmanager API, by "am_" + its label-set fingerprint. Its
// state is opened, stepped, resolved or nodata; its history records every
// transition and every notification (receiver, through what, result).
package alarm
