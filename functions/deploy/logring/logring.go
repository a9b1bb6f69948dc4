// Package logring is the pure model of the app logs Wharf keeps: the
// lines deploy agents ship of their app instances' output, held per app
// in a bounded ring with a cursor, and the query `wharf logs` runs on it.
// It does no I/O and reads no clock; the deploy function stores a Ring per
// app and passes the time in.
package logring

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// Bounds of a Ring and of a batch.
const (
	// MaxLines and MaxBytes bound a ring: the oldest lines go first.
	MaxLines = 2000
	MaxBytes = 512 << 10
	// TTL is how long a ring lives after its last append.
	TTL = 24 * time.Hour
	// DefaultLimit and MaxLimit bound a query's answer.
	DefaultLimit = 200
	MaxLimit     = 1000
)

// Ring is the stored lines of one app, oldest first.
type Ring struct {
	// Next is the Seq of the next line appended.
	Next  uint64         `json:"next"`
	Bytes int            `json:"bytes"`
	Lines []wire.LogLine `json:"lines"`
	// Dropped counts the lines the ring evicted to stay in bounds, and
	// Lost the lines agents reported they could not ship.
	Dropped uint64 `json:"dropped"`
	Lost    uint64 `json:"lost"`
}

// size is what a line counts against MaxBytes.
func size(l wire.LogLine) int {
	return len(l.Text) + len(l.Host) + len(l.Instance) + len(l.Process) + 64
}

// Append adds lines (in order) to r, numbering them, and evicts the oldest
// lines past MaxLines or MaxBytes. lost is what the agent could not ship.
func (r *Ring) Append(lines []wire.LogLine, lost uint64) {
	if r.Next == 0 {
		r.Next = 1
	}
	r.Lost += lost
	for _, l := range lines {
		l.Seq = r.Next
		r.Next++
		r.Lines = append(r.Lines, l)
		r.Bytes += size(l)
	}
	cut := 0
	for cut < len(r.Lines) && (len(r.Lines)-cut > MaxLines || r.Bytes > MaxBytes) {
		r.Bytes -= size(r.Lines[cut])
		cut++
	}
	if cut > 0 {
		r.Dropped += uint64(cut)
		r.Lines = append(r.Lines[:0:0], r.Lines[cut:]...)
	}
}

// Query selects lines of a ring.
type Query struct {
	// Host, Instance and Process, when set, must match exactly.
	Host, Instance, Process string
	// Since keeps lines at or after it (zero: all).
	Since time.Time
	// After keeps lines with a Seq above it: the cursor of the previous
	// answer.
	After uint64
	// Follow returns the oldest lines after After (up to Limit), so that
	// the next query goes on from the cursor; without it, the newest
	// (a tail).
	Follow bool
	// Limit is the most lines returned.
	Limit int
}

// Result is a query's answer.
type Result struct {
	Lines []wire.LogLine `json:"lines"`
	// Cursor is the After of the next query: the Seq of the last line
	// returned, or the ring's last Seq when none matched (so that a follow
	// skips lines that do not match).
	Cursor uint64 `json:"cursor"`
	// More says lines matched beyond Limit.
	More bool `json:"more"`
	// Gap says lines after the cursor were evicted before they were read.
	Gap bool `json:"gap,omitempty"`
}

// Select runs q on r.
func (r *Ring) Select(q Query) Result {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	res := Result{Lines: []wire.LogLine{}, Cursor: max(r.Next, 1) - 1}
	if q.After > 0 && len(r.Lines) > 0 && r.Lines[0].Seq > q.After+1 {
		res.Gap = true
	}
	var match []wire.LogLine
	for _, l := range r.Lines {
		if l.Seq <= q.After || q.Host != "" && l.Host != q.Host || q.Instance != "" && l.Instance != q.Instance ||
			q.Process != "" && l.Process != q.Process || !q.Since.IsZero() && l.At.Before(q.Since) {
			continue
		}
		match = append(match, l)
	}
	if len(match) > limit {
		res.More = true
		if q.Follow {
			match = match[:limit]
			res.Cursor = match[len(match)-1].Seq
		} else {
			match = match[len(match)-limit:]
		}
	}
	res.Lines = append(res.Lines, match...)
	if q.After > res.Cursor {
		res.Cursor = q.After
	}
	return res
}

// Check validates a line an agent sent (Seq is ignored): the field of the
// first problem and what is wrong, or "" when it is fine.
func Check(l wire.LogLine) (field, msg string) {
	switch {
	case l.At.IsZero():
		return "at", "must be the time the line was read (RFC 3339)"
	case !validName(l.Instance, 256):
		return "instance", fmt.Sprintf("must be 1-256 of A-Z, a-z, 0-9, '.', '_', '-', ':', got %q", l.Instance)
	case !validName(l.Process, 64):
		return "process", fmt.Sprintf("must be 1-64 of A-Z, a-z, 0-9, '.', '_', '-', ':', got %q", l.Process)
	case l.Stream != wire.LogStdout && l.Stream != wire.LogStderr:
		return "stream", fmt.Sprintf("must be stdout or stderr, got %q", l.Stream)
	case len(l.Text) > wire.MaxLogLineBytes:
		return "line", fmt.Sprintf("at most %d bytes, got %d", wire.MaxLogLineBytes, len(l.Text))
	case !utf8.ValidString(l.Text):
		return "line", "must be UTF-8"
	}
	return "", ""
}

func validName(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}
