package strategy

import (
	"encoding/json"
	"hash/fnv"
	"slices"
)

// JudgingFingerprint is a hash of the fields of s that decide which
// series it judges, when a problem is open, and where its alarms go. Two
// versions of a strategy with the same fingerprint judge alike, so an
// edit between them keeps the open problems and their current_step; an
// edit that changes the fingerprint closes them (an OK with reason
// "resolved") and judges afresh.
//
// Judging fields: team, metric, tags, endpoints (in any order),
// expression, func, operator, right_value, recover, recover_after,
// nodata, run_begin, run_end and priority. Priority counts because it
// routes the alarm: an open problem was routed at its old priority, so it
// is closed there and fires again at the new one, and no receiver is left
// with a problem that never resolves. Team counts for the same reason.
//
// Not judging (kept across an edit): note, max_step, min_interval and
// renotify_every — they change what the next events say and how often
// they repeat, not whether the problem holds.
func JudgingFingerprint(s Strategy) uint64 {
	k := s
	k.Note, k.MaxStep, k.MinInterval, k.RenotifyEvery = "", 0, 0, 0
	if len(k.Endpoints) > 1 {
		k.Endpoints = slices.Clone(k.Endpoints)
		slices.Sort(k.Endpoints)
	}
	if k.RecoverAfter == 1 {
		k.RecoverAfter = 0 // 0 and 1 both mean the first good evaluation
	}
	b, err := json.Marshal(k) // map keys sorted: deterministic
	if err != nil {
		return 0 // cannot happen for a Strategy; 0 means "unknown"
	}
	h := fnv.New64a()
	_, _ = h.Write(b)
	if v := h.Sum64(); v != 0 {
		return v
	}
	return 1
}
