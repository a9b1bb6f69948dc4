package notifyplan

import "time"

// MaxFoldedIDs bounds the case ids a storm window remembers for its
// digest; the count goes on beyond it.
const MaxFoldedIDs = 100

// Storm is a receiver's storm limit: at most Limit messages per Interval
// (fixed windows); beyond that messages are folded into one digest
// message ("N more") sent when the window closes. Limit 0 is no limit.
type Storm struct {
	Limit    int           `json:"limit"`
	Interval time.Duration `json:"interval"`
}

// StormState is a receiver's current window.
type StormState struct {
	WindowStart time.Time `json:"window_start,omitzero"`
	Sent        int       `json:"sent"`
	// Folded counts the messages folded in this window; FoldedIDs lists
	// their case ids (at most MaxFoldedIDs).
	Folded    int      `json:"folded"`
	FoldedIDs []string `json:"folded_ids,omitempty"`
}

// Digest is a closed window's folded messages: one message saying
// "Count more" (listing IDs).
type Digest struct {
	WindowStart time.Time
	Count       int
	IDs         []string
}

// Admit accounts one message for caseID at now: send reports whether it
// may go out; if not it was folded into the window's digest (never a
// silent drop: the notify layer records it as folded). When now is past
// the window, a digest of the closed window comes back first (Count > 0)
// and must be sent before the new message.
func (s Storm) Admit(st StormState, caseID string, now time.Time) (next StormState, send bool, closed Digest) {
	if s.Limit <= 0 {
		return st, true, Digest{}
	}
	st, closed = s.roll(st, now)
	if st.Sent < s.Limit {
		st.Sent++
		return st, true, closed
	}
	st.Folded++
	if len(st.FoldedIDs) < MaxFoldedIDs {
		st.FoldedIDs = append(append([]string(nil), st.FoldedIDs...), caseID)
	}
	return st, false, closed
}

// DigestDue is when the window's digest is due (the window's end), zero
// when nothing was folded.
func (s Storm) DigestDue(st StormState) time.Time {
	if st.Folded == 0 || s.Limit <= 0 {
		return time.Time{}
	}
	return st.WindowStart.Add(s.Interval)
}

// TakeDigest returns the digest of a window that has closed by now (Count
// 0 when none is due) and the state after sending it.
func (s Storm) TakeDigest(st StormState, now time.Time) (StormState, Digest) {
	due := s.DigestDue(st)
	if due.IsZero() || now.Before(due) {
		return st, Digest{}
	}
	return s.roll(st, now)
}

// roll starts a new window when now is past the current one, returning
// the closed window's digest.
func (s Storm) roll(st StormState, now time.Time) (StormState, Digest) {
	if !st.WindowStart.IsZero() && now.Before(st.WindowStart.Add(s.Interval)) {
		return st, Digest{}
	}
	d := Digest{WindowStart: st.WindowStart, Count: st.Folded, IDs: st.FoldedIDs}
	return StormState{WindowStart: now}, d
}
