// Package notifyplan decides when notify sends what, as pure functions of
// state and a time passed in (no timers, no clock reads): the
// notification schedule of an Alertmanager aggregation group (group_wait,
// group_interval, repeat_interval and the dedup rules of its notification
// log), Open-Falcon's priority combining (0–2 at once, 3–6 combined per
// receiver per combine_interval), and storm control (per receiver at most
// N messages per interval, the rest folded into one "N more" digest).
//
// The notify layer keeps the state values in the store (they are plain
// JSON), calls these functions on events and on its timers, and sends
// what they say; each function returns the new state to store.
package notifyplan
