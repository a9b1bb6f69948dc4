package strategy

// DefaultMinInterval is Falcon's alarm.minInterval: seconds between two
// PROBLEM events of one series under one strategy.
const DefaultMinInterval = 300

// Strategy is an alarm strategy as the API stores and returns it (JSON).
// A point is judged by a strategy when it matches: either Metric, every
// one of Tags and one of Endpoints (none = any endpoint), or Expression.
// The zero value of every opt-in field (renotify_every, recover,
// recover_after, nodata) keeps Open-Falcon's behaviour.
type Strategy struct {
	// ID names the strategy in event IDs: letters, digits, '.' and '-'.
	ID string `json:"id"`
	// Team owns the strategy; it is carried into its events.
	Team string `json:"team,omitempty"`

	// Metric is the metric judged (with Tags and Endpoints), or empty when
	// Expression is given.
	Metric string `json:"metric,omitempty"`
	// Tags must all equal the point's tags (the point may have more).
	Tags map[string]string `json:"tags,omitempty"`
	// Endpoints selects endpoints by glob ('*' any run, '?' one byte);
	// empty selects every endpoint.
	Endpoints []string `json:"endpoints,omitempty"`
	// Expression is Falcon's each(metric=NAME key=value ...), instead of
	// Metric, Tags and Endpoints; its events' IDs start with "e_".
	Expression string `json:"expression,omitempty"`

	// Func is the function over the last values: "all(#3)", "lookup(#2,3)".
	Func string `json:"func"`
	// Operator is one of == != < <= > >= (ignored by stddev).
	Operator string `json:"operator"`
	// RightValue is the threshold (stddev: the number of σ).
	RightValue float64 `json:"right_value"`
	// MaxStep is how many PROBLEM events one problem sends at most (1..).
	MaxStep int `json:"max_step"`
	// Priority 0 (highest) .. 6.
	Priority int `json:"priority"`
	// Note is free text carried into events.
	Note string `json:"note,omitempty"`
	// RunBegin and RunEnd ("HH:MM", both or neither) limit judging to a
	// time of day; RunBegin after RunEnd is a window across midnight.
	RunBegin string `json:"run_begin,omitempty"`
	RunEnd   string `json:"run_end,omitempty"`
	// MinInterval is the least seconds between two PROBLEM events
	// (0: DefaultMinInterval).
	MinInterval int64 `json:"min_interval,omitempty"`

	// RenotifyEvery (seconds, opt-in) repeats a PROBLEM past MaxStep at
	// this interval instead of falling silent.
	RenotifyEvery int64 `json:"renotify_every,omitempty"`
	// Recover (opt-in) is a separate recovery condition: an open problem
	// becomes OK only when it holds (e.g. fire avg(#3) > 90, recover
	// avg(#3) < 80).
	Recover *Condition `json:"recover,omitempty"`
	// RecoverAfter (opt-in) is how many good evaluations in a row an open
	// problem needs before OK (hysteresis); 0 and 1 mean the first.
	RecoverAfter int `json:"recover_after,omitempty"`
	// NoData (opt-in) is how many steps of silence make a NODATA event.
	NoData int `json:"nodata,omitempty"`
}

// Condition is a function, operator and right value, as in a Strategy.
type Condition struct {
	Func       string  `json:"func"`
	Operator   string  `json:"operator"`
	RightValue float64 `json:"right_value"`
}
