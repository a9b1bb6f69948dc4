package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder notes what the components of a table did, in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, s)
}

func (r *recorder) table(names []string, failAt int) []component {
	var table []component
	for i, name := range names {
		table = append(table, component{name, func(context.Context) (stopFunc, error) {
			if i == failAt {
				r.note("fail " + name)
				return nil, errors.New("boom")
			}
			r.note("start " + name)
			if name == "no-stop" {
				return nil, nil
			}
			return func(context.Context) error { r.note("stop " + name); return nil }, nil
		}})
	}
	return table
}

func TestStartComponentsUndoesInReverseAndNamesTheFailedOne(t *testing.T) {
	t.Parallel()
	names := []string{"a", "b", "no-stop", "c", "d"}
	for k := range names {
		t.Run(names[k], func(t *testing.T) {
			t.Parallel()
			r := &recorder{}
			_, err := startComponents(context.Background(), slog.New(slog.DiscardHandler), r.table(names, k), time.Second)
			if err == nil || err.Error() != "cannot start "+names[k]+": boom" {
				t.Fatalf("err = %v, want it to name %s", err, names[k])
			}
			var want []string
			for _, n := range names[:k] {
				want = append(want, "start "+n)
			}
			want = append(want, "fail "+names[k])
			for i := k - 1; i >= 0; i-- {
				if names[i] != "no-stop" {
					want = append(want, "stop "+names[i])
				}
			}
			if !reflect.DeepEqual(r.events, want) {
				t.Fatalf("events\n got %q\nwant %q", r.events, want)
			}
		})
	}
}

func TestShutdownRunsInReverseWithAPerStepDeadlineAndLogsEachStep(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var order []string
	step := func(name string, f func(ctx context.Context) error) component {
		return component{name, func(context.Context) (stopFunc, error) {
			return func(ctx context.Context) error { order = append(order, name); return f(ctx) }, nil
		}}
	}
	ok := func(context.Context) error { return nil }
	// A step that outlives its deadline fails alone: the steps after it
	// still get a fresh deadline of their own.
	stuck := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	deadlineLeft := func(ctx context.Context) error {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) <= 0 {
			return fmt.Errorf("no deadline left: %v %v", d, ok)
		}
		return nil
	}
	table := []component{step("store", deadlineLeft), step("gateway", stuck), step("readiness", ok)}
	s, err := startComponents(context.Background(), log, table, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	err = s.stop(50 * time.Millisecond)
	if want := []string{"readiness", "gateway", "store"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
	if err == nil || !strings.Contains(err.Error(), "cannot stop gateway: context deadline exceeded") || strings.Contains(err.Error(), "store") {
		t.Fatalf("err = %v", err)
	}
	out := logs.String()
	for _, want := range []string{`msg="shutdown step done" step=readiness`, `msg="shutdown step failed" step=gateway`, `msg="shutdown step done" step=store`, `msg=stopped`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
