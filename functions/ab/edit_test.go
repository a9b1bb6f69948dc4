package ab_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// doIf does a request with an If-Match header.
func (s *server) doIf(t *testing.T, method, path, ifMatch, body string) gatewaytest.Response {
	t.Helper()
	hdr := map[string]string{"Authorization": "Bearer " + s.tokens["team"], "Content-Type": "application/json"}
	if ifMatch != "" {
		hdr["If-Match"] = ifMatch
	}
	r := gatewaytest.Do(t, s.addr, method, path, hdr, body)
	gatewaytest.NoSecrets(t, r)
	return r
}

func wantStatus(t *testing.T, r gatewaytest.Response, status int, body ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%d, want %d: %s", r.Status, status, r.Body)
	}
	for _, b := range body {
		if !strings.Contains(string(r.Body), b) {
			t.Fatalf("the answer lacks %s: %s", b, r.Body)
		}
	}
}

// TestEditExperimentInPlace: PATCH and PUT edit a running experiment's
// definition with compare-and-swap on its revision (If-Match from the
// ETag; 409 when stale), the estimate of moved units (409 unless
// confirmed), a new bucket version required to change the seed, hash
// attribute, hash version or number of variations (400 naming the field),
// field errors that store nothing, and an audit entry; decisions follow.
func TestEditExperimentInPlace(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "", "button", 0, 0)
	const path = "/fn/ab/experiments/shop/button"
	get := func() (ab.ExperimentView, string) {
		r := s.must(t, 200, "GET", path, "team", "")
		return decode[ab.ExperimentView](t, r), r.Get("ETag")
	}
	v, etag := get()
	if etag != fmt.Sprintf(`"%d"`, v.Revision) || v.Revision != 2 {
		t.Fatalf("ETag %q for revision %d", etag, v.Revision)
	}

	// Stale revision: 409, nothing saved.
	wantStatus(t, s.doIf(t, "PATCH", path, `"1"`, `{"variations":[{"name":"control","weight":0.5},{"name":"green","weight":0.5,"value":{"color":"green"}}]}`), 409, "revision 2, not 1")
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"revision":1,"coverage":0.5}`), 409, "revision 2, not 1")
	if v2, _ := get(); v2.Revision != 2 || v2.Coverage != 1 {
		t.Fatalf("a stale edit saved: %+v", v2.Experiment)
	}

	// Names and values: saved in place, nobody moves; audited.
	r := s.doIf(t, "PATCH", path, etag, `{"variations":[{"name":"control","weight":0.5},{"name":"green","weight":0.5,"value":{"color":"green"}}]}`)
	wantStatus(t, r, 200)
	res := decode[ab.RampResult](t, r)
	if !res.Saved || res.Change.Moved != 0 || res.Experiment.Revision != 3 || res.Experiment.Variations[1].Name != "green" || r.Get("ETag") != `"3"` {
		t.Fatalf("edit: %+v", res)
	}
	if h := res.Experiment.History[len(res.Experiment.History)-1]; h.Action != "edit" || h.By == "" || !strings.Contains(h.Detail, "changed variations") {
		t.Fatalf("audit: %+v", h)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		d := decode[ab.Decision](t, s.must(t, 200, "GET", "/fn/ab/decide/button?unit=u-blue-or-green", "team", ""))
		if len(d.Assignments) != 1 || d.Assignments[0].Variation == 1 && d.Assignments[0].VariationName != "green" {
			return fmt.Errorf("decision not edited yet: %+v", d)
		}
		return nil
	})

	// Changes that move every unit need a new bucket version.
	for _, body := range []string{`{"seed":"other"}`, `{"hash_attribute":"device"}`, `{"hash_version":1}`,
		`{"variations":[{"weight":0.4},{"weight":0.3},{"weight":0.3}]}`} {
		field := strings.Trim(strings.SplitN(body[1:], ":", 2)[0], `"`)
		wantStatus(t, s.doIf(t, "PATCH", path, "", body), 400, `"field":"`+field+`"`, "new_bucket_version", "bucket version 1")
	}
	// Weights move units: 409 with the estimate unless confirmed; a dry
	// run answers the estimate.
	r = s.doIf(t, "PATCH", path, "", `{"variations":[{"name":"control","weight":0.2},{"name":"green","weight":0.8}]}`)
	wantStatus(t, r, 409, "confirm_reassign", `"moved":`)
	r = s.doIf(t, "PATCH", path, "", `{"variations":[{"name":"control","weight":0.2},{"name":"green","weight":0.8}],"dry_run":true}`)
	wantStatus(t, r, 200)
	if dr := decode[ab.RampResult](t, r); dr.Saved || dr.Change.Moved < 0.2 || dr.Change.Moved > 0.4 {
		t.Fatalf("dry run: %+v", dr)
	}
	// Bad fields: 400 naming each, nothing saved.
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"coverage":2,"holdout":0.9,"hash_version":3}`), 400, `"field":"coverage"`, `"field":"holdout"`, `"field":"hash_version"`)
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"layer":"checkout"}`), 400, `"field":"layer"`)
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"colour":"red"}`), 400, "colour")
	wantStatus(t, s.doIf(t, "PATCH", path, "abc", `{"coverage":0.5}`), 400, "If-Match")
	wantStatus(t, s.doIf(t, "PATCH", path, `"3"`, `{"revision":2,"coverage":0.5}`), 400, "disagree")
	wantStatus(t, s.doIf(t, "PUT", path, "", `{"coverage":0.5}`), 400, `"field":"variations"`)
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{}`), 400, "nothing to change")
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"dry_run":true,"confirm_reassign":true}`), 400, "nothing to change")
	wantStatus(t, s.doIf(t, "PATCH", "/fn/ab/experiments/shop/nope", "", `{"coverage":0.5}`), 404)
	if v, _ := get(); v.Revision != 3 || v.Coverage != 1 {
		t.Fatalf("a refused edit saved: %+v", v.Experiment)
	}

	// A new seed with a new bucket version: saved, results start over.
	r = s.doIf(t, "PATCH", path, `"3"`, `{"seed":"button-2","new_bucket_version":true}`)
	wantStatus(t, r, 200)
	if res := decode[ab.RampResult](t, r); !res.Saved || res.Experiment.BucketVersion != 1 || res.Experiment.Seed != "button-2" || res.Change.Moved < 0.3 {
		t.Fatalf("new bucket version: %+v", res)
	}
	// PUT replaces the whole definition: what it leaves out takes its
	// default (seed: the key, so a new bucket version again).
	r = s.doIf(t, "PUT", path, `"4"`, `{"variations":[{"name":"control","weight":0.5},{"name":"green","weight":0.5}],"condition":{"country":"fr"},"new_bucket_version":true}`)
	wantStatus(t, r, 200)
	if res := decode[ab.RampResult](t, r); res.Experiment.Seed != "button" || res.Experiment.Condition == nil || res.Experiment.BucketVersion != 2 || res.Experiment.Status != "running" {
		t.Fatalf("put: %+v", res.Experiment)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if d := decode[ab.Decision](t, s.must(t, 200, "GET", "/fn/ab/decide/button?unit=u1&attr.country=de", "team", "")); len(d.Assignments) != 0 && d.Assignments[0].InExperiment {
			return fmt.Errorf("the condition is not live yet: %+v", d)
		}
		return nil
	})
	// {} clears the condition.
	wantStatus(t, s.doIf(t, "PATCH", path, "", `{"condition":{}}`), 200)
	if v, _ := get(); v.Condition != nil {
		t.Fatalf("condition not cleared: %+v", v.Condition)
	}

	// A draft takes any change without a new bucket version.
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"draft1","variations":[{"weight":0.5},{"weight":0.5}]}`)
	wantStatus(t, s.doIf(t, "PATCH", "/fn/ab/experiments/shop/draft1", "", `{"seed":"x","variations":[{"weight":0.2},{"weight":0.3},{"weight":0.5}]}`), 200, `"saved":true`, `"bucket_version":0`)
}

// TestEditRangeInLayer: a new range of a layered experiment must not
// overlap another experiment's.
func TestEditRangeInLayer(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "checkout", "a", 0, 3000)
	s.running(t, "checkout", "b", 5000, 8000)
	wantStatus(t, s.doIf(t, "PATCH", "/fn/ab/experiments/shop/a", "", `{"range":[0,6000],"confirm_reassign":true}`), 400, `"field":"range"`, `experiment \"b\"`)
	r := s.doIf(t, "PATCH", "/fn/ab/experiments/shop/a", "", `{"range":[0,5000]}`)
	wantStatus(t, r, 200, `"saved":true`)
	if res := decode[ab.RampResult](t, r); res.Change.Entering <= 0 || res.Change.Moved != 0 {
		t.Fatalf("a wider range only adds units: %+v", res.Change)
	}
}
