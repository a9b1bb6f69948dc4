package wire_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

func TestParseEvent(t *testing.T) {
	t.Parallel()
	e, err := wire.ParseEvent([]byte(`{"deploy_id":"d-1","task_id":2,"host":"h1","state":"starting","at":"2026-03-01T12:00:00Z","duration":"1.5s","log_tail":"ok","agent_version":"9"}`))
	if err != nil || e.TaskID != 2 || e.State != wire.PhaseStarting || e.Duration.D() != 1500*time.Millisecond || !e.At.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v, %v", e, err)
	}
	for _, tt := range []struct {
		body   string
		fields []string
	}{
		{`{"deploy_id":"","task_id":0,"host":"a b","state":"done","duration":"-1s"}`, []string{"deploy_id", "task_id", "host", "state", "duration"}},
		{`{"deploy_id":"d","task_id":"1","host":"h","state":"healthy"}`, []string{"task_id"}},
	} {
		_, err := wire.ParseEvent([]byte(tt.body))
		assertFields(t, err, tt.fields...)
	}
	if _, err := wire.ParseEvent([]byte(`{"deploy_id":"d","task_id":1,"host":"h","state":"healthy"}x`)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func TestLogTail(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 30 {
		lines = append(lines, strings.Repeat("x", i))
	}
	got := wire.LogTail(strings.Join(lines, "\n") + "\n")
	if want := strings.Join(lines[10:], "\n"); got != want {
		t.Fatalf("tail of 30 lines:\n%q\nwant\n%q", got, want)
	}
	big := strings.Repeat("é", wire.MaxLogBytes) // 2 bytes each
	got = wire.LogTail(big)
	if len(got) > wire.MaxLogBytes || !strings.HasSuffix(big, got) || !strings.HasPrefix(got, "é") {
		t.Fatalf("tail of %d bytes: %d bytes", len(big), len(got))
	}
	if wire.Clip("héllo", 2) != "h" {
		t.Fatalf("clip cuts a rune: %q", wire.Clip("héllo", 2))
	}
}

// A key twice in an agent's event is refused naming it, not settled by
// whichever the decoder reads last.
func TestParseEventDuplicateKey(t *testing.T) {
	t.Parallel()
	var fe *wire.FieldError
	if _, err := wire.ParseEvent([]byte(`{"deploy":"d1","state":"ok","state":"failed"}`)); !errors.As(err, &fe) || fe.Field != "state" {
		t.Fatalf("event: %v", err)
	}
}

// assertFields fails unless err joins *FieldErrors for exactly fields (in
// any order).
func assertFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var got []string
	var walk func(error)
	walk = func(e error) {
		switch u := e.(type) {
		case *wire.FieldError:
			got = append(got, u.Field)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		default:
			got = append(got, "?"+e.Error())
		}
	}
	if err != nil {
		walk(err)
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(fields)); !slices.Equal(got, want) {
		t.Fatalf("error %v names fields %q, want %q", err, got, want)
	}
}
