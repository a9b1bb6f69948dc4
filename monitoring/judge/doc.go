// Package judge is Wharf's alarm judge as pure functions: the evaluation of
// Open-Falcon's functions over a series' last points and the event state
// machine with Falcon's re-send rules, plus Wharf's opt-in extras
// (renotify_every, recover, recover_after, nodata). No I/O, no clock: the
// caller passes the time.
//
//	st, evs := judge.Judge(st, compiled, points, now) // on points of one series
//	st, evs = judge.Tick(st, compiled, now)           // periodically, for nodata
//	st, evs = judge.Resolve(st, old, now)             // strategy deleted or changed
//	evs = judge.Backtest(compiled, stored, judge.BacktestOptions{})
//
// State is everything the judge remembers about one series under one
// strategy — the last points the strategy's functions read (at most
// strategy.Compiled.Window), the last event sent (status, step, time),
// the good evaluations counted toward recovery, and the series identity
// for NODATA events. It encodes to a compact versioned binary form
// (AppendBinary / UnmarshalBinary) for the store; a consumer keeps one per
// (strategy, series), keyed by the event ID, loads it, calls Judge, and
// writes it back together with the events (its outbox) in one
// store transaction, so that a restart or a shard move neither loses an
// OK nor repeats a PROBLEM nor resets current_step.
package judge
