package seriesstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// Applying the waiting points (a checkpoint, the bound of waiting points,
// a log grown past MaxWALBytes) goes in slices that release the store's
// lock between them: the writer's Appends, its Syncs and the reads go on
// while a pass applies, instead of waiting for all of a shard's points
// (seconds of them) to be applied. These tests stop a pass between two
// slices (SetApplyHook) and do there what the writer and a query do.

// liveness bounds how long a test waits for an operation that must not
// wait for the apply in progress: a deadline for a hung test, not a
// measurement (it takes microseconds).
const liveness = 10 * time.Second

// without runs op in a goroutine and waits for it while the apply pass
// that called the hook is stopped: op must finish without it. It returns
// a channel that is closed once op returned (at once, or later when op
// waited for the pass, which the test reports).
func without(t *testing.T, what string, op func() error) <-chan struct{} {
	t.Helper()
	res := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		res <- op()
	}()
	select {
	case err := <-res:
		if err != nil {
			t.Errorf("%s during an apply: %v", what, err)
		}
	case <-time.After(liveness):
		t.Errorf("%s waited for the store's apply or fsync in progress (not done after %s)", what, liveness)
	}
	return finished
}

// applyStore opens a store whose waiting points are applied only when
// told (checkpoint, Close), holding n series with a few hundred waiting
// points each... and the model of what it holds.
func applyStore(t *testing.T, dir string, r *rand.Rand, keys []string, clock *int64, mod ...func(*seriesstore.Options)) (*seriesstore.Store, *model) {
	t.Helper()
	st := open(t, dir, append([]func(*seriesstore.Options){func(o *seriesstore.Options) { o.MaxDeferredPoints = 1 << 30 }}, mod...)...)
	m := newModel()
	for range 6 {
		pts := points(r, keys, 400, clock)
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
		m.apply(t, pts)
	}
	return st, m
}

// stallFirstSlice makes the first apply slice of the store's next pass
// (hook every series slices) stop until release is called; entered is
// closed once it stopped.
func stallFirstSlice(st *seriesstore.Store, series int) (entered <-chan struct{}, release func()) {
	in, rel := make(chan struct{}), make(chan struct{})
	first := true
	seriesstore.SetApplyHook(st, series, func() {
		if first {
			first = false
			close(in)
			<-rel
		}
	})
	return in, func() { close(rel) }
}

// appendUntil calls appendOne until entered is closed (a pass stopped at
// its first slice), at most 200 times.
func appendUntil(t *testing.T, entered <-chan struct{}, appendOne func()) {
	t.Helper()
	for i := 0; ; i++ {
		appendOne()
		select {
		case <-entered:
			return
		default:
			if i == 200 {
				t.Fatal("no apply pass stopped at a slice after 200 Appends")
			}
		}
	}
}

// powerCutAndCompare cuts the power under st (only what was synced stays)
// and checks that the store reopened from dir holds what m says.
func powerCutAndCompare(t *testing.T, st *seriesstore.Store, dir string, m *model) {
	t.Helper()
	if err := seriesstore.PowerCut(st); err != nil {
		t.Fatal(err)
	}
	re := open(t, dir)
	defer re.Close()
	m.compare(t, re)
}

func TestAppendAndSyncDoNotWaitForACheckpointsApply(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 1))
	keys, clock := keysN(40), int64(1_750_000_000)
	st, m := applyStore(t, t.TempDir(), r, keys, &clock)
	defer st.Close()
	calls := 0
	var late []<-chan struct{}
	seriesstore.SetApplyHook(st, 4, func() {
		calls++
		if calls > 3 {
			return
		}
		pts := points(r, keys, 300, &clock)
		m.apply(t, pts)
		late = append(late, without(t, "Append", func() error {
			_, err := st.Append(pts)
			return err
		}), without(t, "Sync", st.Sync))
	})
	if err := st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	for _, c := range late {
		<-c
	}
	if calls < 3 {
		t.Fatalf("the checkpoint applied its points in %d slices, want more", calls)
	}
	m.compare(t, st)
}

func TestPointsAppendedDuringACheckpointSurviveAPowerCutAfterIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(13, 2))
	keys, clock := keysN(40), int64(1_750_000_000)
	st, m := applyStore(t, dir, r, keys, &clock)
	before, _, _ := st.LogState()
	calls := 0
	var late []<-chan struct{}
	seriesstore.SetApplyHook(st, 3, func() {
		calls++
		if calls > 12 {
			return
		}
		// Old series and, now and then, a new one (its slot is taken
		// while the checkpoint runs).
		pts := points(r, keys, 200, &clock)
		if calls%4 == 0 {
			pts = append(pts, seriesstore.Point{Key: fmt.Sprintf("new%02d/cpu.idle", calls), Step: 60, CounterType: "GAUGE", Time: clock, Value: 1})
		}
		m.apply(t, pts)
		late = append(late, without(t, "Update", func() error {
			_, err := st.Update(pts)
			return err
		}))
	})
	if err := st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	for _, c := range late {
		<-c
	}
	if after, _, _ := st.LogState(); after == before {
		t.Fatalf("the checkpoint did not start a new log segment (still %s)", after)
	}
	powerCutAndCompare(t, st, dir, m)
}

func TestReadsDuringAnApplySeeEveryPoint(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(13, 3))
	keys, clock := keysN(30), int64(1_750_000_000)
	st, m := applyStore(t, t.TempDir(), r, keys, &clock)
	defer st.Close()
	calls := 0
	var late []<-chan struct{}
	seriesstore.SetApplyHook(st, 5, func() {
		calls++
		if calls > 4 {
			return
		}
		// Points appended (not synced) during the pass wait beside the
		// ones the pass has still to apply; a read applies both.
		pts := points(r, keys, 120, &clock)
		m.apply(t, pts)
		late = append(late, without(t, "Append then reads", func() error {
			if _, err := st.Append(pts); err != nil {
				return err
			}
			if !m.sameAs(st) {
				return errors.New("a read does not see every point")
			}
			return nil
		}))
	})
	if err := st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	for _, c := range late {
		<-c
	}
	m.compare(t, st)
}

// An Append that makes the store apply (too many waiting points, or a log
// segment past MaxWALBytes) returns at once: the apply runs beside it.
func TestAppendThatTriggersAnApplyDoesNotWaitForIt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		mod  func(*seriesstore.Options)
	}{
		{"waiting points", func(o *seriesstore.Options) { o.MaxDeferredPoints = 2000 }},
		{"log size", func(o *seriesstore.Options) { o.MaxWALBytes = 16 << 10 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := rand.New(rand.NewPCG(13, 4))
			keys, clock := keysN(40), int64(1_750_000_000)
			st, m := applyStore(t, dir, r, keys, &clock, c.mod)
			entered, release := stallFirstSlice(st, 2)
			var late []<-chan struct{}
			// Appends past either bound (2,000 points, 16 KiB of log:
			// 400 points are about 6 KiB) until a pass starts and stops
			// at its first slice; the Appends go on meanwhile.
			appendUntil(t, entered, func() {
				pts := points(r, keys, 400, &clock)
				m.apply(t, pts)
				late = append(late, without(t, "Append", func() error {
					_, err := st.Append(pts)
					return err
				}))
			})
			pts := points(r, keys, 400, &clock)
			m.apply(t, pts)
			late = append(late, without(t, "Update", func() error {
				_, err := st.Update(pts)
				return err
			}))
			release()
			for _, c := range late {
				<-c
			}
			m.compare(t, st)
			powerCutAndCompare(t, st, dir, m)
		})
	}
}

// When points come faster than a pass applies them, memory stays bounded:
// once twice MaxDeferredPoints wait beside the pass, an Append applies
// them itself (and waits for that, not for the pass).
func TestWaitingPointsStayBoundedWhileAPassIsSlow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(13, 5))
	keys, clock := keysN(40), int64(1_750_000_000)
	const bound = 500
	st, m := applyStore(t, dir, r, keys, &clock, func(o *seriesstore.Options) { o.MaxDeferredPoints = bound })
	entered, release := stallFirstSlice(st, 1)
	var late []<-chan struct{}
	appendSome := func() {
		pts := points(r, keys, 400, &clock)
		m.apply(t, pts)
		late = append(late, without(t, "Append", func() error {
			_, err := st.Append(pts)
			return err
		}))
	}
	// Appends until a pass stops at its first slice (one may finish
	// first: an Append applying the points itself leaves it nothing).
	appendUntil(t, entered, appendSome)
	for i := range 10 {
		appendSome()
		if queued, _ := seriesstore.Waiting(st); queued >= 2*bound {
			t.Fatalf("%d points wait beside the pass after %d Appends, want fewer than %d", queued, i+1, 2*bound)
		}
	}
	release()
	for _, c := range late {
		<-c
	}
	m.compare(t, st)
	powerCutAndCompare(t, st, dir, m)
}

// A checkpoint's second pass applies points of the old log segment (those
// logged during its first pass) while Appends log to the new one: a
// series' base image there comes from its slot, which may not hold them
// yet. A power cut in the middle of that pass (both log segments on disk)
// or after the checkpoint (the old one deleted) loses no acknowledged
// point.
func TestPowerCutDuringOrAfterACheckpointsSecondPass(t *testing.T) {
	t.Parallel()
	for _, during := range []bool{true, false} {
		t.Run(fmt.Sprintf("during=%v", during), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := rand.New(rand.NewPCG(13, 6))
			keys, clock := keysN(40), int64(1_750_000_000)
			st, m := applyStore(t, dir, r, keys, &clock)
			before, _, _ := st.LogState()
			second, cut := 0, false
			seriesstore.SetApplyHook(st, 2, func() {
				if cut {
					return
				}
				if path, _, _ := st.LogState(); path != before {
					second++ // the new log segment started: the second pass
				}
				if second > 3 {
					return
				}
				// The first pass's points are the second's; these
				// Updates log every series' base image in the new
				// segment while its old points wait.
				pts := points(r, keys, 300, &clock)
				if _, err := st.Update(pts); err != nil {
					t.Errorf("update during the checkpoint: %v", err)
					return
				}
				m.apply(t, pts)
				if during && second == 3 {
					if err := seriesstore.PowerCut(st); err != nil {
						t.Error(err)
					}
					cut = true
				}
			})
			err := st.Checkpoint()
			if second < 3 {
				t.Fatalf("the checkpoint's second pass stopped at %d slices, want 3 or more", second)
			}
			if !during {
				if err != nil {
					t.Fatal(err)
				}
				if err := seriesstore.PowerCut(st); err != nil {
					t.Fatal(err)
				}
			}
			re := open(t, dir)
			defer re.Close()
			m.compare(t, re)
		})
	}
}
