package supervise

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOnLineStreams: OnLine gets each line with its stream, and the log
// file still gets all of them.
func TestOnLineStreams(t *testing.T) {
	var mu sync.Mutex
	var got []string
	spec := testSpec(t, "lines", `echo out-1; echo err-1 >&2; printf 'no-newline'; exec sleep 60`)
	spec.OnLine = func(stream string, line []byte) {
		mu.Lock()
		got = append(got, stream+":"+string(line))
		mu.Unlock()
	}
	p := startT(t, spec, Options{})
	tailContains(t, p, "err-1")
	waitFor(t, 10*time.Second, "lines", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got, "stdout:out-1") && slices.Contains(got, "stderr:err-1")
	})
	// The unfinished line comes when the stream ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(got, "stdout:no-newline") {
		t.Fatalf("lines %q", got)
	}
}

func TestLineSplitter(t *testing.T) {
	t.Parallel()
	var got []string
	s := &lineSplitter{stream: "stdout", fn: func(_ string, l []byte) { got = append(got, string(l)) }}
	s.write([]byte("a\nb"))
	s.write([]byte("c\r\n\n"))
	s.write([]byte(strings.Repeat("x", MaxLineBytes+3) + "\n"))
	s.write([]byte("tail"))
	s.flush()
	want := []string{"a", "bc", "", strings.Repeat("x", MaxLineBytes), "xxx", "tail"}
	if !slices.Equal(got, want) {
		t.Fatalf("lines %q", got)
	}
}
