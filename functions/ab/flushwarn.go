package ab

import "time"

// flushWarnEvery is how often a failing flush is logged at most: a store
// outage fails every experiment's flush every interval.
const flushWarnEvery = time.Minute

// flushWarn logs a failed flush unless one was logged in the last
// flushWarnEvery; the warnings left out are counted in the next one
// ("suppressed").
func (f *Function) flushWarn(msg string, args ...any) {
	now := f.opts.Now().UnixNano()
	last := f.lastFlushWarn.Load()
	if last != 0 && now-last < int64(flushWarnEvery) || !f.lastFlushWarn.CompareAndSwap(last, now) {
		f.suppressedWarns.Add(1)
		return
	}
	f.log.Warn(msg, append(args, "suppressed", f.suppressedWarns.Swap(0))...)
}
