// Package event is the alarm event model of Wharf's judge and its
// versioned JSON schema: what runner/judge publishes on the NSQ topic
// "alarms" and what every consumer of that topic (notify, subscribers'
// channels, the console) reads. Pure: no I/O.
//
// # Identity
//
// An event is about one series under one strategy. Its ID is Open-Falcon's:
// "s_<strategy id>_<md5 hex of the series PK>" for a strategy on a metric,
// "e_<strategy id>_<md5 hex of the series PK>" for a strategy given as an
// expression (Falcon's "expression"). The PK is Falcon's series key,
// "endpoint/metric" or "endpoint/metric/k1=v1,k2=v2" with the tags sorted
// by key (see PK). One (ID, CurrentStep, Status, EventTime) happens once;
// consumers de-duplicate on it because NSQ delivers at least once.
//
// # Schema, version 1
//
//	{
//	  "version": 1,                 // schema version; a consumer refuses a higher one
//	  "id": "s_42_5d41402abc4b2a76b9719d911017c592",
//	  "status": "PROBLEM",          // PROBLEM | OK | NODATA
//	  "current_step": 1,            // 1 for the first PROBLEM, +1 per repeat; 1 for OK and NODATA
//	  "event_time": 1700000120,     // Unix seconds: the newest point's time (NODATA: when silence was noticed)
//	  "strategy_id": "42",
//	  "team": "shop",               // owner of the strategy (may be empty)
//	  "endpoint": "web-1",
//	  "metric": "cpu.idle",
//	  "pushed_tags": {"core": "0"}, // the tags of the newest point (never null)
//	  "left_value": 93.5,           // the function's value; null when there is none (NODATA, NaN, ±Inf)
//	  "func": "all(#3)",
//	  "operator": ">",
//	  "right_value": 90,
//	  "max_step": 3,
//	  "priority": 0,                // 0 (highest) .. 6
//	  "note": "cpu busy",
//	  "expression": "",             // the expression, for a strategy given as one
//	  "reason": "threshold"         // why this event: threshold | renotify | recover | nodata | resolved
//	}
//
// Fields are only ever added within a version; a consumer ignores fields it
// does not know. A change of meaning or a removal raises Version.
package event
