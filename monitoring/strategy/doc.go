// Package strategy is the model of an alarm strategy (Open-Falcon's
// strategy and expression, plus Wharf's opt-in extras), its validation
// with field errors, and the parsers of its small languages: functions
// ("all(#3)", "lookup(#2,3)"), operators, expressions
// ("each(metric=qps project=falcon)"), run windows ("HH:MM") and endpoint
// globs. Pure: no I/O.
//
// A Strategy is what the API stores and returns; Compile validates it and
// gives a Compiled, the immutable, parsed form that monitoring/judge
// evaluates on every point without parsing or allocating.
package strategy
