package balance

import (
	"sync"
	"testing"
	"time"
)

type fakeClock struct{ ns int64 }

func (c *fakeClock) now() int64              { return c.ns }
func (c *fakeClock) advance(d time.Duration) { c.ns += int64(d) }

func newTestEjector(t *testing.T, n int) (*Ejector, *fakeClock) {
	t.Helper()
	c := &fakeClock{ns: 1}
	e, err := NewEjector(n, EjectorOptions{Clock: c.now, Failures: 3, Base: time.Second, Max: 5 * time.Second, Quiet: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e, c
}

func fail(e *Ejector, i, n int) (ejected bool) {
	for range n {
		if e.Report(i, false) {
			ejected = true
		}
	}
	return ejected
}

func TestEjectAfterConsecutiveFailures(t *testing.T) {
	t.Parallel()
	e, c := newTestEjector(t, 3)
	if fail(e, 1, 2) || e.Eligible(nil) != nil {
		t.Fatal("ejected before 3 failures")
	}
	e.Report(1, true) // success resets the run
	if fail(e, 1, 2) {
		t.Fatal("ejected: the success did not reset the failure count")
	}
	if !e.Report(1, false) {
		t.Fatal("third consecutive failure did not eject")
	}
	m := e.Eligible(make(Mask, 1))
	if m == nil || m.Has(1) || !m.Has(0) || !m.Has(2) {
		t.Fatalf("eligible %v, want 0 and 2", m)
	}
	if st := e.State(1); !st.Ejected || st.Remaining != time.Second || st.Level != 1 {
		t.Fatalf("state %+v", st)
	}
	// Failures of requests still in flight do not extend the ejection.
	if fail(e, 1, 10) {
		t.Fatal("re-ejected while ejected")
	}
	c.advance(999 * time.Millisecond)
	if e.Eligible(nil).Has(1) {
		t.Fatal("returned early")
	}
	c.advance(time.Millisecond)
	if m := e.Eligible(nil); m != nil {
		t.Fatalf("after the period eligible %v, want nil (all)", m)
	}
}

func TestEjectBackOffGrowsAndResets(t *testing.T) {
	t.Parallel()
	e, c := newTestEjector(t, 2)
	var got []time.Duration
	for range 5 {
		if !fail(e, 0, 3) {
			t.Fatal("no ejection")
		}
		st := e.State(0)
		got = append(got, st.Remaining)
		c.advance(st.Remaining)
		e.Eligible(nil)
		c.advance(time.Second) // back in service briefly, then fails again
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("ejection periods %v, want %v", got, want)
		}
	}
	// Quiet for 30 s after returning: the next ejection starts from Base.
	c.advance(30 * time.Second)
	fail(e, 0, 3)
	if st := e.State(0); st.Remaining != time.Second || st.Level != 1 || st.Ejections != 6 {
		t.Fatalf("after a quiet period state %+v, want 1s, level 1, 6 ejections", st)
	}
}

func TestEjectExpiredWithoutEligible(t *testing.T) {
	t.Parallel()
	// An ejection that ran out while nobody called Eligible is replaced by
	// the next one, with the ejected count kept right.
	e, c := newTestEjector(t, 2)
	fail(e, 0, 3)
	c.advance(2 * time.Second)
	if !fail(e, 0, 3) {
		t.Fatal("no second ejection")
	}
	if st := e.State(0); st.Remaining != 2*time.Second {
		t.Fatalf("second ejection %+v, want 2s", st)
	}
	c.advance(2 * time.Second)
	if m := e.Eligible(nil); m != nil {
		t.Fatalf("eligible %v, want all", m)
	}
}

func TestEjectAllAndConcurrent(t *testing.T) {
	t.Parallel()
	e, c := newTestEjector(t, 70)
	var wg sync.WaitGroup
	for i := range 70 {
		wg.Go(func() {
			for range 50 {
				e.Report(i, true)
				fail(e, i, 3)
				e.Eligible(make(Mask, 2))
			}
		})
	}
	wg.Wait()
	m := e.Eligible(nil)
	if m == nil || m.count(70) != 0 {
		t.Fatalf("every instance failed: eligible count %d, want 0", m.count(70))
	}
	c.advance(time.Hour)
	if e.Eligible(nil) != nil {
		t.Fatal("all must be back after an hour")
	}
}

func TestNewEjectorValidates(t *testing.T) {
	t.Parallel()
	for _, o := range []EjectorOptions{{Failures: -1}, {Base: time.Minute, Max: time.Second}, {Quiet: -1}} {
		if _, err := NewEjector(1, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := NewEjector(0, EjectorOptions{}); err == nil {
		t.Error("zero instances accepted")
	}
}

func TestReturnEndsAnEjectionEarly(t *testing.T) {
	t.Parallel()
	e, c := newTestEjector(t, 2)
	if e.Return(0) {
		t.Fatal("Return of an instance in service reported an ejection")
	}
	if !fail(e, 0, 3) {
		t.Fatal("not ejected")
	}
	c.advance(100 * time.Millisecond)
	if !e.Return(0) || e.Eligible(nil) != nil || e.State(0).Ejected {
		t.Fatalf("Return did not put the instance back: %+v", e.State(0))
	}
	// The next ejection still backs off: it lasts 2 × Base.
	fail(e, 0, 3)
	if st := e.State(0); !st.Ejected || st.Remaining != 2*time.Second {
		t.Fatalf("repeat ejection after Return: %+v", st)
	}
}
