package ab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

// hooked is a server whose store has test hooks.
func hooked(t *testing.T, edit ...func(*ab.Options)) (*server, *hookStore) {
	t.Helper()
	var h *hookStore
	s := newServer(t, "buntdb", append([]func(*ab.Options){func(o *ab.Options) {
		h = &hookStore{Store: o.Store}
		o.Store = h
	}}, edit...)...)
	return s, h
}

// TestEditRangeClaimedUnderRace: an edit that gives the range the
// experiment had when the edit read it still claims it, so an experiment
// moved and another started on the old range meanwhile make the edit
// fail instead of two experiments sharing buckets of a layer.
func TestEditRangeClaimedUnderRace(t *testing.T) {
	s, h := hooked(t)
	s.running(t, "checkout", "a", 0, 5000)
	reached, release := h.pauseNextGet("ab/def/experiments/shop/a")
	done := make(chan gatewaytest.Response, 1)
	go func() { done <- s.do(t, "PATCH", "/fn/ab/experiments/shop/a", "team", `{"range":[0,5000]}`) }()
	<-reached
	wantStatus(t, s.doIf(t, "PATCH", "/fn/ab/experiments/shop/a", "", `{"range":[5000,6000],"confirm_reassign":true}`), 200)
	s.running(t, "checkout", "c", 0, 5000)
	close(release)
	r := <-done
	if r.Status == 200 {
		t.Fatalf("the paused edit moved a back onto c's range: %s", r.Body)
	}
	if r.Status != 400 || !strings.Contains(string(r.Body), `experiment \"c\"`) {
		t.Fatalf("%d %s, want 400 naming the overlap with c", r.Status, r.Body)
	}
	if v := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/a", "team", "")); v.Range != [2]int{5000, 6000} {
		t.Fatalf("a's range %v", v.Range)
	}
}

// TestExposureBudgetPerExperiment: one experiment spending its budget of
// new exposures every interval does not keep another's units out.
func TestExposureBudgetPerExperiment(t *testing.T) {
	s := newServer(t, "buntdb", func(o *ab.Options) { o.MaxNewExposures, o.FlushInterval = 10, time.Hour })
	s.running(t, "", "button", 0, 0)
	s.must(t, 201, "POST", "/fn/ab/experiments", "other", `{"key":"banner","variations":[{"weight":0.5},{"weight":0.5}]}`)
	s.must(t, 200, "POST", "/fn/ab/experiments/bank/banner/start", "other", "")
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := s.do(t, "GET", "/fn/ab/decide/banner?unit=probe", "other", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"banner"`) {
			return fmt.Errorf("banner not running yet: %s", r)
		}
		return nil
	})
	ctx := context.Background()
	s.fn.Flush(ctx)
	shop, bank := s.local("team"), s.local("other")
	for round := range 4 {
		for i := range 20 {
			shop.decide(t, fmt.Sprintf("shop-%d-%d", round, i))
		}
		for i := range 5 {
			bank.decide(t, fmt.Sprintf("bank-%d-%d", round, i))
		}
		s.fn.Flush(ctx)
	}
	ev := decode[exposedView](t, s.must(t, 200, "GET", "/fn/ab/results/bank/banner", "other", ""))
	if got := ev.ExposedUnits[0] + ev.ExposedUnits[1]; got < 20 {
		t.Fatalf("bank's exposed units %v, want its 20 (and the probe): shop's decisions spent the budget", ev.ExposedUnits)
	}
	ev = decode[exposedView](t, s.must(t, 200, "GET", "/fn/ab/results/shop/button", "team", ""))
	if got := ev.ExposedUnits[0] + ev.ExposedUnits[1]; got != 41 {
		t.Fatalf("shop's exposed units %v, want the probe and 10 per interval", ev.ExposedUnits)
	}
}

// TestHashAttributeUnitBounded: a decision by a hash attribute longer
// than MaxUnitBytes is counted but its value is not recorded as a unit.
func TestHashAttributeUnitBounded(t *testing.T) {
	s := newServer(t, "buntdb", func(o *ab.Options) { o.FlushInterval = time.Hour })
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"dev","hash_attribute":"device","variations":[{"weight":0.5},{"weight":0.5}]}`)
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/dev/start", "team", "")
	l := s.local("team")
	testenv.Eventually(t, 5*time.Second, func() error {
		if st, b := l.do("POST", "/fn/ab/decide", `{"unit":"u","attributes":{"device":"phone-1"}}`); st != 200 || !strings.Contains(string(b), `"in_experiment":true`) {
			return fmt.Errorf("dev not running yet: %d %s", st, b)
		}
		return nil
	})
	long := strings.Repeat("x", ab.MaxUnitBytes+1)
	if st, b := l.do("POST", "/fn/ab/decide", `{"unit":"u","attributes":{"device":"`+long+`"}}`); st != 200 || !strings.Contains(string(b), `"in_experiment":true`) {
		t.Fatalf("decide with a long device: %d %s", st, b)
	}
	r := s.must(t, 200, "GET", "/fn/ab/results/shop/dev", "team", "")
	ev, res := decode[exposedView](t, r), decode[ab.Results](t, r)
	if got := ev.ExposedUnits[0] + ev.ExposedUnits[1]; got != 1 {
		t.Fatalf("exposed units %v, want phone-1 only", ev.ExposedUnits)
	}
	if res.Exposures[0]+res.Exposures[1] < 2 {
		t.Fatalf("exposures %v: the long unit's decision is still counted", res.Exposures)
	}
}

// TestDroppedUnitsRecordedAgain: units dropped after the store refused
// them for ten intervals are recorded at their next decision.
func TestDroppedUnitsRecordedAgain(t *testing.T) {
	s, h := hooked(t, func(o *ab.Options) { o.MaxNewExposures, o.MaxReportedExposures, o.FlushInterval = 2, 1, time.Hour })
	s.running(t, "", "button", 0, 0)
	ctx := context.Background()
	s.fn.Flush(ctx)
	h.failPuts("ab/exposed/")
	l := s.local("team")
	units := s.distinctUnits(32, 2)
	for round := range 16 { // pending holds ten intervals' worth: 30
		l.decide(t, units[2*round])
		l.decide(t, units[2*round+1])
		s.fn.Flush(ctx)
	}
	h.failPuts("")
	for range 5 {
		for _, u := range units {
			l.decide(t, u)
		}
		s.fn.Flush(ctx)
	}
	ev := decode[exposedView](t, s.must(t, 200, "GET", "/fn/ab/results/shop/button", "team", ""))
	if got := ev.ExposedUnits[0] + ev.ExposedUnits[1]; got != 33 {
		t.Fatalf("exposed units %v, want the 32 and the probe: dropped units are never recorded again", ev.ExposedUnits)
	}
}

// TestReportedExposureNeedsBucketVersion: a reported exposure names the
// bucket version it was decided in.
func TestReportedExposureNeedsBucketVersion(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "", "button", 0, 0)
	wantStatus(t, s.do(t, "POST", "/fn/ab/exposures", "team", `[{"experiment":"button","unit":"a","variation":1}]`), 400, `"field":"[0].bucket_version"`)
}

// TestEditFallbackNeedsNewBucketVersion: changing the fallback attribute
// of a running experiment re-hashes the units decided by it.
func TestEditFallbackNeedsNewBucketVersion(t *testing.T) {
	s := newServer(t, "buntdb")
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"fb","hash_attribute":"user","fallback_attribute":"device","variations":[{"weight":0.5},{"weight":0.5}]}`)
	s.must(t, 200, "POST", "/fn/ab/experiments/shop/fb/start", "team", "")
	const path = "/fn/ab/experiments/shop/fb"
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"fallback_attribute":"session"}`), 400, `"field":"fallback_attribute"`, "new_bucket_version")
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"fallback_attribute":"session","new_bucket_version":true}`), 200, `"saved":true`)
}

// TestExposureLogBounded: reported exposures are charged to the
// experiment's budget per flush interval (429 with Retry-After beyond,
// nothing recorded), and a bucket version stores at most MaxStoredUnits
// units: results say exposed_truncated.
func TestExposureLogBounded(t *testing.T) {
	s := newServer(t, "buntdb", func(o *ab.Options) {
		o.MaxReportedExposures, o.MaxStoredUnits, o.FlushInterval = 5, 30, time.Hour
	})
	s.running(t, "", "button", 0, 0)
	ctx := context.Background()
	s.fn.Flush(ctx)
	report := func(from, n int) gatewaytest.Response {
		var reps []string
		for i := range n {
			reps = append(reps, fmt.Sprintf(`{"experiment":"button","unit":"sdk-%d","variation":%d,"bucket_version":0}`, from+i, i%2))
		}
		return s.do(t, "POST", "/fn/ab/exposures", "team", "["+strings.Join(reps, ",")+"]")
	}
	r := report(0, 6)
	wantStatus(t, r, 429, "button", "reported exposures")
	if r.Get("Retry-After") != "3600" {
		t.Fatalf("Retry-After %q, want the flush interval", r.Get("Retry-After"))
	}
	results := func() (exposedView, ab.Results) {
		r := s.must(t, 200, "GET", "/fn/ab/results/shop/button", "team", "")
		return decode[exposedView](t, r), decode[ab.Results](t, r)
	}
	if ev, res := results(); ev.ExposedUnits[0]+ev.ExposedUnits[1] != 1 || res.Exposures[0]+res.Exposures[1] != 1 {
		t.Fatalf("a refused report recorded: %+v %v", ev, res.Exposures)
	}
	wantStatus(t, report(0, 5), 202)
	wantStatus(t, report(5, 1), 429)
	s.fn.Flush(ctx)
	wantStatus(t, report(5, 1), 202)
	if _, res := results(); res.ExposedTruncated {
		t.Fatal("truncated below the cap")
	}
	l := s.local("team")
	for round := range 3 {
		for i := range 20 {
			l.decide(t, fmt.Sprintf("u%d-%d", round, i))
		}
		s.fn.Flush(ctx)
	}
	ev, res := results()
	if got := ev.ExposedUnits[0] + ev.ExposedUnits[1]; got > 30 || got < 20 || !res.ExposedTruncated {
		t.Fatalf("exposed units %v, truncated %v: want at most MaxStoredUnits and truncated", ev.ExposedUnits, res.ExposedTruncated)
	}
	if res.Exposures[0]+res.Exposures[1] != 1+6+60 {
		t.Fatalf("exposures %v: every decision still counts", res.Exposures)
	}
	stored := 0
	for e, err := range store.Entries(ctx, s.st, "ab/exposed/", store.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		var b struct{ Units []string }
		if err := json.Unmarshal(e.Value, &b); err != nil {
			t.Fatal(err)
		}
		stored += len(b.Units)
	}
	if stored > 30 {
		t.Fatalf("%d units stored, cap 30", stored)
	}
}
