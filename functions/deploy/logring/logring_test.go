package logring

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func line(host, inst, text string, s int) wire.LogLine {
	return wire.LogLine{At: t0.Add(time.Duration(s) * time.Second), Host: host, Instance: inst, Process: "web", Stream: wire.LogStdout, Text: text}
}

func texts(ls []wire.LogLine) string {
	var b []string
	for _, l := range ls {
		b = append(b, l.Text)
	}
	return strings.Join(b, ",")
}

func TestAppendSelect(t *testing.T) {
	t.Parallel()
	var r Ring
	r.Append([]wire.LogLine{line("h1", "i1", "a", 0), line("h2", "i2", "b", 1), line("h1", "i1", "c", 2)}, 0)
	if got := r.Select(Query{}); texts(got.Lines) != "a,b,c" || got.Cursor != 3 || got.More {
		t.Fatalf("all: %+v", got)
	}
	if got := r.Select(Query{Host: "h1"}); texts(got.Lines) != "a,c" {
		t.Fatalf("host: %+v", got)
	}
	if got := r.Select(Query{Instance: "i2"}); texts(got.Lines) != "b" || got.Cursor != 3 {
		t.Fatalf("instance: %+v", got)
	}
	if got := r.Select(Query{Since: t0.Add(time.Second)}); texts(got.Lines) != "b,c" {
		t.Fatalf("since: %+v", got)
	}
	// A tail is the newest lines; a follow the oldest after the cursor.
	if got := r.Select(Query{Limit: 2}); texts(got.Lines) != "b,c" || !got.More {
		t.Fatalf("tail: %+v", got)
	}
	if got := r.Select(Query{After: 1, Follow: true, Limit: 1}); texts(got.Lines) != "b" || got.Cursor != 2 || !got.More {
		t.Fatalf("follow: %+v", got)
	}
	if got := r.Select(Query{Follow: true, Limit: 2}); texts(got.Lines) != "a,b" || got.Cursor != 2 {
		t.Fatalf("follow from the start: %+v", got)
	}
	r.Append([]wire.LogLine{line("h1", "i1", "d", 3)}, 2)
	if got := r.Select(Query{After: 3}); texts(got.Lines) != "d" || got.Cursor != 4 || r.Lost != 2 {
		t.Fatalf("after: %+v", got)
	}
	if got := r.Select(Query{After: 4, Host: "h2"}); len(got.Lines) != 0 || got.Cursor != 4 {
		t.Fatalf("nothing new: %+v", got)
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	var r Ring
	for i := range MaxLines + 10 {
		r.Append([]wire.LogLine{line("h", "i", fmt.Sprint(i), i)}, 0)
	}
	if len(r.Lines) != MaxLines || r.Dropped != 10 || r.Lines[0].Seq != 11 {
		t.Fatalf("lines %d dropped %d first %d", len(r.Lines), r.Dropped, r.Lines[0].Seq)
	}
	if got := r.Select(Query{After: 5}); !got.Gap {
		t.Fatal("a cursor behind the evicted lines is a gap")
	}
	big := strings.Repeat("x", wire.MaxLogLineBytes)
	for i := range 200 {
		r.Append([]wire.LogLine{line("h", "i", big, i)}, 0)
	}
	if r.Bytes > MaxBytes {
		t.Fatalf("ring holds %d bytes, above %d", r.Bytes, MaxBytes)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ok := line("h", "i-1", "x", 0)
	for field, l := range map[string]wire.LogLine{
		"":         ok,
		"at":       {Instance: "i", Process: "web", Stream: wire.LogStdout},
		"instance": func() wire.LogLine { l := ok; l.Instance = "../x"; return l }(),
		"process":  func() wire.LogLine { l := ok; l.Process = ""; return l }(),
		"stream":   func() wire.LogLine { l := ok; l.Stream = "stdin"; return l }(),
		"line":     func() wire.LogLine { l := ok; l.Text = strings.Repeat("y", wire.MaxLogLineBytes+1); return l }(),
	} {
		if got, msg := Check(l); got != field {
			t.Errorf("want %q, got %q (%s)", field, got, msg)
		}
	}
}
