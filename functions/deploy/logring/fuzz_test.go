package logring

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// FuzzBatch feeds agent batches (untrusted JSON) through Check, Append
// and Select: nothing panics, the ring stays in its bounds and numbers
// its lines in order, and a follow never goes back.
func FuzzBatch(f *testing.F) {
	f.Add([]byte(`{"lines":[{"app":"shop","at":"2026-03-01T12:00:00Z","instance":"h.shop.1","process":"web","stream":"stdout","line":"hi"}],"lost":{"shop":2}}`), uint64(0), 5)
	f.Add([]byte(`{"lines":[{"app":"shop","at":"2026-03-01T12:00:00Z","instance":"../x","process":"","stream":"stdin","line":"\xff"}]}`), uint64(3), 1)
	f.Add([]byte(`{"lines":null,"lost":{"":18446744073709551615}}`), uint64(1<<63), 0)
	f.Fuzz(func(t *testing.T, body []byte, after uint64, limit int) {
		var b wire.LogBatch
		if json.Unmarshal(body, &b) != nil {
			return
		}
		var r Ring
		for range 3 {
			var ok []wire.LogLine
			for _, l := range b.Lines {
				if field, _ := Check(l.LogLine); field == "" {
					ok = append(ok, l.LogLine)
				}
			}
			r.Append(ok, b.Lost["shop"])
		}
		if len(r.Lines) > MaxLines || r.Bytes > MaxBytes && len(r.Lines) > 1 {
			t.Fatalf("ring out of bounds: %d lines, %d bytes", len(r.Lines), r.Bytes)
		}
		for i := 1; i < len(r.Lines); i++ {
			if r.Lines[i].Seq != r.Lines[i-1].Seq+1 {
				t.Fatalf("seq %d after %d", r.Lines[i].Seq, r.Lines[i-1].Seq)
			}
		}
		res := r.Select(Query{After: after, Follow: true, Limit: limit, Since: time.Time{}})
		if res.Cursor < after {
			t.Fatalf("cursor %d went back from %d", res.Cursor, after)
		}
		for _, l := range res.Lines {
			if l.Seq <= after || l.Seq > res.Cursor {
				t.Fatalf("line %d outside (%d, %d]", l.Seq, after, res.Cursor)
			}
		}
	})
}
