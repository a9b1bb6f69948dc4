package judge_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/logstore"
	"github.com/wharfhq/wharf/runner/judge"
)

// A judge given a state store of its own (serve's log store) moves
// the states an earlier judge kept in the main store there when it starts,
// and goes on from them: Falcon's worked example, interrupted after the
// first PROBLEM, sends the same events as uninterrupted.
func TestStatesMoveToTheStateStoreAndJudgingGoesOn(t *testing.T) {
	e := newEnv(t)
	st := e.store()
	e.putStrategy(st, webCPU)
	_, stop := e.startJudge(st, "j1", 1)
	for ts := int64(0); ts <= 120; ts += 60 {
		e.feed(st, ts)
	}
	stop()
	states, err := logstore.Open(logstore.Options{Path: filepath.Join(t.TempDir(), "states.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = states.Close() })
	e.startJudgeWith(st, "j2", 1, func(o *judge.Options) { o.StateStore = states })
	e.judged(states, webCPUID, 120) // moved, points and all
	if _, err := judge.ReadState(context.Background(), st, webCPUID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the main store still has the moved state: %v", err)
	}
	for ts := int64(180); ts <= 960; ts += 60 {
		e.clock.Store(ts)
		v := 95.0
		if ts > 900 {
			v = 80
		}
		e.push(0, cpu(ts, v))
		e.judged(states, webCPUID, ts)
	}
	if got := e.waitAlarms(len(falconExample)); !slices.Equal(got, falconExample) {
		t.Fatalf("events %v, want Falcon's %v", got, falconExample)
	}
}
