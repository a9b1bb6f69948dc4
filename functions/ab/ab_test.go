package ab_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/functions/ab/experiment"
	"github.com/wharfhq/wharf/functions/ab/wire"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestAuthorizationPerScope: every route answers 401 without a token, 403
// to agent and ingest, 404 (or 403 for a team it names) to another team
// for what is shop's, and serves shop and admin.
func TestAuthorizationPerScope(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "checkout", "button", 0, 5000)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"draft1","variations":[{"weight":0.5},{"weight":0.5}]}`)
	key := decode[ab.SDKKey](t, s.must(t, 201, "POST", "/fn/ab/sdk-keys", "team", "")).ClientKey
	type want struct{ none, agent, ingest, other, team, admin int }
	exp := `{"team":"shop","key":"k%d","variations":[{"weight":0.5},{"weight":0.5}]}`
	n := 0
	routes := []struct {
		method, path, body string
		want               want
	}{
		{"POST", "/fn/ab/layers", `{"team":"shop","name":"l%d"}`, want{401, 403, 403, 403, 201, 201}},
		{"GET", "/fn/ab/layers", "", want{401, 403, 403, 200, 200, 200}},
		{"GET", "/fn/ab/layers/shop/checkout", "", want{401, 403, 403, 404, 200, 200}},
		{"POST", "/fn/ab/experiments", exp, want{401, 403, 403, 403, 201, 201}},
		{"GET", "/fn/ab/experiments", "", want{401, 403, 403, 200, 200, 200}},
		{"GET", "/fn/ab/experiments/shop/button", "", want{401, 403, 403, 404, 200, 200}},
		{"POST", "/fn/ab/experiments/shop/button/ramp", `{"coverage":1,"dry_run":true}`, want{401, 403, 403, 404, 200, 200}},
		{"POST", "/fn/ab/experiments/shop/button/reassign", `{"dry_run":true}`, want{401, 403, 403, 404, 200, 200}},
		{"PATCH", "/fn/ab/experiments/shop/button", `{"coverage":1,"dry_run":true}`, want{401, 403, 403, 404, 200, 200}},
		{"PUT", "/fn/ab/experiments/shop/button", `{"layer":"checkout","range":[0,5000],"variations":[{"name":"control","weight":0.5,"value":{"color":"grey"}},{"name":"blue","weight":0.5,"value":{"color":"blue"}}],"dry_run":true}`, want{401, 403, 403, 404, 200, 200}},
		{"POST", "/fn/ab/decide", `{"unit":"u1","team":"shop"}`, want{401, 403, 403, 403, 200, 200}},
		{"GET", "/fn/ab/decide/button?unit=u1&team=shop", "", want{401, 403, 403, 403, 200, 200}},
		{"POST", "/fn/ab/sdk-keys", `{"team":"shop"}`, want{401, 403, 403, 403, 201, 201}},
		{"GET", "/api/features/" + key, "", want{200, 200, 200, 200, 200, 200}},
		{"GET", "/fn/ab/sdk-keys", "", want{401, 403, 403, 200, 200, 200}},
		{"POST", "/fn/ab/track?team=shop", `{"unit":"u1","metric":"revenue","value":1}`, want{401, 403, 403, 403, 202, 202}},
		{"GET", "/fn/ab/results/shop/button", "", want{401, 403, 403, 404, 200, 200}},
		{"POST", "/fn/ab/exposures?team=shop", `{"experiment":"button","unit":"u1","variation":0,"bucket_version":0}`, want{401, 403, 403, 403, 202, 202}},
		{"POST", "/fn/ab/experiments/shop/draft1/start", "", want{401, 403, 403, 404, 200, 409}},
		{"POST", "/fn/ab/experiments/shop/draft1/stop", "", want{401, 403, 403, 404, 200, 409}},
		{"DELETE", "/fn/ab/experiments/shop/button", "", want{401, 403, 403, 404, 409, 409}},
		{"DELETE", "/fn/ab/layers/shop/checkout", "", want{401, 403, 403, 404, 409, 409}},
		{"DELETE", "/fn/ab/experiments/shop/draft1", "", want{401, 403, 403, 404, 204, 404}},
		{"DELETE", "/fn/ab/layers/shop/l5", "", want{401, 403, 403, 404, 204, 404}},
	}
	for _, rt := range routes {
		for _, who := range []struct {
			name string
			code int
		}{{"", rt.want.none}, {"agent", rt.want.agent}, {"ingest", rt.want.ingest}, {"other", rt.want.other}, {"team", rt.want.team}, {"admin", rt.want.admin}} {
			body := rt.body
			if strings.Contains(body, "%d") {
				n++
				body = fmt.Sprintf(body, n)
			}
			r := s.do(t, rt.method, rt.path, who.name, body)
			if r.Status != who.code {
				t.Errorf("%s %s as %q: %d, want %d: %s", rt.method, rt.path, who.name, r.Status, who.code, r.Body)
			}
		}
	}
	// Unknown client keys answer 404; a key is listed to its team only,
	// and revoked by it (another team: 404 as unknown).
	s.must(t, 404, "GET", "/api/features/sdk-nope", "", "")
	if l := decode[ab.SDKKeyList](t, s.must(t, 200, "GET", "/fn/ab/sdk-keys", "other", "")); len(l.Keys) != 0 {
		t.Fatalf("bank sees shop's client keys: %+v", l)
	}
	if l := decode[ab.SDKKeyList](t, s.must(t, 200, "GET", "/fn/ab/sdk-keys", "team", "")); len(l.Keys) < 3 || l.Keys[0].Team != "shop" || l.Keys[0].CreatedBy == "" {
		t.Fatalf("shop's client keys: %+v", l)
	}
	for _, who := range []struct {
		name string
		code int
	}{{"", 401}, {"agent", 403}, {"ingest", 403}, {"other", 404}, {"team", 204}, {"admin", 404}} {
		if r := s.do(t, "DELETE", "/fn/ab/sdk-keys/"+key, who.name, ""); r.Status != who.code {
			t.Errorf("DELETE /fn/ab/sdk-keys as %q: %d, want %d: %s", who.name, r.Status, who.code, r.Body)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := s.do(t, "GET", "/api/features/"+key, "", ""); r.Status != 404 {
			return fmt.Errorf("a revoked key still serves: %d", r.Status)
		}
		return nil
	})
}

// TestBadInputNamesTheField: invalid bodies answer 400 naming each field,
// and nothing is stored.
func TestBadInputNamesTheField(t *testing.T) {
	s := newServer(t, "buntdb")
	s.must(t, 201, "POST", "/fn/ab/layers", "team", `{"name":"checkout"}`)
	s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"first","layer":"checkout","range":[0,5000],"variations":[{"weight":0.5},{"weight":0.5}]}`)
	cases := []struct{ method, path, body, field string }{
		{"POST", "/fn/ab/layers", `{"name":"Bad Name"}`, `"field":"name"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","variations":[{"weight":0.5}]}`, `"field":"variations"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","variations":[{"weight":0.9},{"weight":0.5}]}`, `"field":"variations"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","hash_version":3,"variations":[{"weight":0.5},{"weight":0.5}]}`, `"field":"hash_version"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","coverage":2,"variations":[{"weight":0.5},{"weight":0.5}]}`, `"field":"coverage"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","layer":"nope","range":[0,10],"variations":[{"weight":0.5},{"weight":0.5}]}`, `"field":"layer"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","layer":"checkout","variations":[{"weight":0.5},{"weight":0.5}]}`, `"field":"range"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","layer":"checkout","range":[4000,6000],"variations":[{"weight":0.5},{"weight":0.5}]}`, `"field":"range"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","forced":{"u1":5},"variations":[{"weight":0.5},{"weight":0.5}]}`, `"field":"forced.u1"`},
		{"POST", "/fn/ab/experiments", `{"key":"x","variations":[{"weight":0.5},{"weight":0.5}],"extra":1}`, `unknown field`},
		{"POST", "/fn/ab/experiments/shop/first/ramp", `{"coverage":-1}`, `"field":"coverage"`},
		{"POST", "/fn/ab/experiments/shop/first/ramp", `{"weights":[1]}`, `"field":"weights"`},
		{"POST", "/fn/ab/experiments/shop/first/ramp", `{}`, `"field":"coverage"`},
		{"POST", "/fn/ab/decide", `{"unit":""}`, `"field":"unit"`},
		{"POST", "/fn/ab/decide", `{"unit":"u","attributes":[1]}`, `attributes`},
		{"GET", "/fn/ab/decide/first?unit=u&explain=maybe", ``, `"field":"explain"`},
		{"POST", "/fn/ab/track", `[{"unit":"u","metric":"Bad Metric","value":1},{"unit":"","metric":"m","value":1},{"unit":"u","metric":"m"},{"unit":"u","metric":"m","value":1,"ts":"yesterday"}]`, `"field":"[0].metric"`},
		{"POST", "/fn/ab/track", `[]`, `"field":"events"`},
		{"POST", "/fn/ab/exposures", `[{"experiment":"first","unit":"u","variation":0}]`, `"field":"[0].experiment"`},
		{"POST", "/fn/ab/exposures", `[]`, `"field":"exposures"`},
		{"POST", "/fn/ab/exposures", `{"experiment":"first","unit":"u","variation":0,"extra":1}`, `unknown field`},
		{"GET", "/fn/ab/results/shop/first?trim=median", ``, `"field":"trim"`},
		{"GET", "/fn/ab/results/shop/first?population=Bad%20Name", ``, `"field":"population"`},
		{"GET", "/fn/ab/results/shop/first?holm=maybe", ``, `"field":"holm"`},
	}
	for _, c := range cases {
		r := s.do(t, c.method, c.path, "team", c.body)
		if r.Status != 400 || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s %s %s: %d %s, want 400 naming %s", c.method, c.path, c.body, r.Status, r.Body, c.field)
		}
	}
	r := s.do(t, "POST", "/fn/ab/track", "team", `[{"unit":"u","metric":"Bad Metric","value":1},{"unit":"","metric":"m","value":1},{"unit":"u","metric":"m"},{"unit":"u","metric":"m","value":1,"ts":"yesterday"}]`)
	for _, f := range []string{"[1].unit", "[2].value", "[3].ts"} {
		if !strings.Contains(string(r.Body), `"field":"`+f+`"`) {
			t.Errorf("track: %s not named: %s", f, r.Body)
		}
	}
	l := decode[ab.ExperimentList](t, s.must(t, 200, "GET", "/fn/ab/experiments", "team", ""))
	if len(l.Experiments) != 1 {
		t.Fatalf("a refused experiment was stored: %+v", l)
	}
	// A multi-team token must name its team.
	if r := s.do(t, "POST", "/fn/ab/layers", "multi", `{"name":"x"}`); r.Status != 400 || !strings.Contains(string(r.Body), "team is required") {
		t.Fatalf("multi-team token without team: %s", r)
	}
}

// TestDecideExplainAndExposures: a running experiment decides in one call
// with value, bucket, layer and versions; explain says why a unit is out;
// exposures are counted in memory and flushed to the store; a stopped
// experiment is no longer decided.
func TestDecideExplainAndExposures(t *testing.T) {
	for _, engine := range []string{"buntdb", "redis"} {
		t.Run(engine, func(t *testing.T) {
			s := newServer(t, engine)
			s.running(t, "checkout", "button", 0, 5000)
			s.running(t, "checkout", "price", 5000, 10000)
			in, out := 0, 0
			for i := range 200 {
				d := decode[ab.Decision](t, s.must(t, 200, "POST", "/fn/ab/decide", "team", fmt.Sprintf(`{"unit":"user-%d","explain":true}`, i)))
				if len(d.Assignments) != 2 || d.SetVersion == "" || d.Team != "shop" {
					t.Fatalf("decision: %+v", d)
				}
				inCount := 0
				for _, a := range d.Assignments {
					if a.InExperiment {
						inCount++
						if a.Layer != "checkout" || a.HashVersion != 2 || a.Value == nil || a.Reason != experiment.ReasonIn {
							t.Fatalf("assignment: %+v", a)
						}
						if (a.Experiment == "button") != (a.Bucket < 5000) {
							t.Fatalf("bucket %d in %s", a.Bucket, a.Experiment)
						}
					} else if a.Reason != experiment.ReasonLayer {
						t.Fatalf("out: %+v", a)
					}
				}
				if inCount != 1 {
					t.Fatalf("one layer, two experiments: %d in: %+v", inCount, d)
				}
				plain := decode[ab.Decision](t, s.must(t, 200, "POST", "/fn/ab/decide", "team", fmt.Sprintf(`{"unit":"user-%d"}`, i)))
				if len(plain.Assignments) != 1 || plain.Assignments[0].Reason != "" {
					t.Fatalf("without explain only the experiments the unit is in: %+v", plain)
				}
				one := decode[ab.Decision](t, s.must(t, 200, "GET", fmt.Sprintf("/fn/ab/decide/button?unit=user-%d", i), "team", ""))
				if one.Assignments[0].InExperiment {
					in++
				} else {
					out++
				}
			}
			if in < 70 || out < 70 {
				t.Fatalf("button: %d in, %d out of 200", in, out)
			}
			// 3 decisions per unit in button's range: 2 POST + 1 GET
			// (and the probe of waitRunning when it is in).
			testenv.Eventually(t, 5*time.Second, func() error {
				v := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", ""))
				if n := v.Exposures[0] + v.Exposures[1]; n != int64(3*in) && n != int64(3*in+1) {
					return fmt.Errorf("exposures %v, want %d", v.Exposures, 3*in)
				}
				if ctx := t.Context(); ctx.Err() == nil {
					e, err := s.st.Get(ctx, ab.ExposureKey(v.Experiment))
					if err != nil {
						return fmt.Errorf("not flushed: %v", err)
					}
					var stored struct{ Counts []int64 }
					_ = json.Unmarshal(e.Value, &stored)
					if n := stored.Counts[0] + stored.Counts[1]; n != int64(3*in) && n != int64(3*in+1) {
						return fmt.Errorf("flushed %v", stored.Counts)
					}
				}
				return nil
			})
			s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/stop", "team", "")
			testenv.Eventually(t, 5*time.Second, func() error {
				if r := s.do(t, "GET", "/fn/ab/decide/button?unit=u", "team", ""); r.Status != 404 {
					return fmt.Errorf("stopped experiment still decided: %s", r)
				}
				return nil
			})
			// A stopped experiment can be deleted; its layer only once
			// no experiment names it.
			s.must(t, 204, "DELETE", "/fn/ab/experiments/shop/button", "team", "")
			s.must(t, 404, "GET", "/fn/ab/experiments/shop/button", "team", "")
			// Created again under its key, it starts with no exposures.
			s.must(t, 201, "POST", "/fn/ab/experiments", "team", `{"key":"button","layer":"checkout","range":[0,5000],"variations":[{"weight":0.5},{"weight":0.5}]}`)
			if v := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", "")); v.Exposures[0]+v.Exposures[1] != 0 {
				t.Fatalf("a new experiment under an old key inherits exposures: %v", v.Exposures)
			}
			s.must(t, 204, "DELETE", "/fn/ab/experiments/shop/button", "team", "")
			if r := s.must(t, 409, "DELETE", "/fn/ab/layers/shop/checkout", "team", ""); !strings.Contains(string(r.Body), `experiment \"price\"`) {
				t.Fatalf("layer delete: %s", r)
			}
			// Another team sees none of shop's experiments.
			d := decode[ab.Decision](t, s.must(t, 200, "POST", "/fn/ab/decide", "other", `{"unit":"u","explain":true}`))
			if len(d.Assignments) != 0 {
				t.Fatalf("bank sees shop's experiments: %+v", d)
			}
		})
	}
}

// TestRampAndReassign: raising coverage saves at once and moves nobody; a
// weight change that moves units is refused with the estimated share
// until confirmed; reassign bumps the bucket version; every change is
// audited with who and when.
func TestRampAndReassign(t *testing.T) {
	s := newServer(t, "buntdb")
	s.running(t, "", "button", 0, 0)
	r := s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/ramp", "team", `{"coverage":0.5}`)
	res := decode[ab.RampResult](t, r)
	if !res.Saved || res.Change.Moved != 0 || res.Change.Leaving < 0.45 || res.Experiment.Coverage != 0.5 || res.Experiment.Revision != 3 || res.Experiment.UpdatedBy != "team" {
		t.Fatalf("coverage down: %+v", res)
	}
	res = decode[ab.RampResult](t, s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/ramp", "team", `{"coverage":1}`))
	if !res.Saved || res.Change.Moved != 0 || res.Change.Entering < 0.45 {
		t.Fatalf("coverage up: %+v", res)
	}
	r = s.must(t, 409, "POST", "/fn/ab/experiments/shop/button/ramp", "team", `{"weights":[0.2,0.8]}`)
	if !strings.Contains(string(r.Body), `"moved":0.3`) || !strings.Contains(string(r.Body), "confirm_reassign") {
		t.Fatalf("unconfirmed reassignment: %s", r)
	}
	res = decode[ab.RampResult](t, s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/ramp", "team", `{"weights":[0.2,0.8],"dry_run":true}`))
	if res.Saved || res.Experiment.Variations[0].Weight != 0.2 {
		t.Fatalf("dry run: %+v", res)
	}
	if e := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", "")); e.Variations[0].Weight != 0.5 {
		t.Fatalf("a refused or dry-run edit was saved: %+v", e)
	}
	res = decode[ab.RampResult](t, s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/ramp", "admin", `{"weights":[0.2,0.8],"confirm_reassign":true}`))
	if !res.Saved || res.Change.Moved < 0.25 || res.Experiment.UpdatedBy != "admin" || res.Experiment.CreatedBy != "team" {
		t.Fatalf("confirmed: %+v", res)
	}
	res = decode[ab.RampResult](t, s.must(t, 200, "POST", "/fn/ab/experiments/shop/button/reassign", "team", ""))
	if !res.Saved || res.Experiment.BucketVersion != 1 || res.Change.Moved < 0.2 {
		t.Fatalf("reassign: %+v", res)
	}
	v := decode[ab.ExperimentView](t, s.must(t, 200, "GET", "/fn/ab/experiments/shop/button", "team", ""))
	var trail []string
	for _, h := range v.History {
		trail = append(trail, fmt.Sprintf("%d %s %s", h.Revision, h.By, h.Action))
	}
	if got := strings.Join(trail, ", "); got != "1 team create, 2 team start, 3 team ramp, 4 team ramp, 5 admin ramp, 6 team reassign" ||
		!strings.Contains(v.History[4].Detail, "weights 0.2/0.8") || v.History[5].At.IsZero() {
		t.Fatalf("audit trail: %s %+v", got, v.History)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		d := decode[ab.Decision](t, s.must(t, 200, "GET", "/fn/ab/decide/button?unit=u1", "team", ""))
		if d.Assignments[0].BucketVersion != 1 {
			return fmt.Errorf("bucket version not live: %+v", d)
		}
		return nil
	})
}

// TestTrackPublishesOneBatch: events (one or an array) are published as
// one wire.Events of the caller's team, without the token; a bad batch
// publishes nothing.
func TestTrackPublishesOneBatch(t *testing.T) {
	s := newServer(t, "buntdb")
	got := fntest.Consume(t, s.nsqd.Addr, wire.EventsTopic)
	s.must(t, 400, "POST", "/fn/ab/track", "team", `[{"unit":"u1","metric":"revenue","value":1},{"unit":"u2","metric":"revenue"}]`)
	s.must(t, 202, "POST", "/fn/ab/track", "team", `[{"unit":"u1","metric":"revenue","value":1.5,"ts":"2026-01-02T03:04:05Z"},{"unit":"u2","metric":"clicks","value":2}]`)
	select {
	case b := <-got:
		var evs wire.Events
		if err := json.Unmarshal(b, &evs); err != nil {
			t.Fatal(err)
		}
		if evs.Team != "shop" || len(evs.Events) != 2 || evs.Events[0].Value != 1.5 || evs.Events[0].TS.Year() != 2026 || evs.Events[1].TS.IsZero() {
			t.Fatalf("events: %s", b)
		}
		if strings.Contains(string(b), s.tokens["team"]) {
			t.Fatal("the token is in the NSQ payload")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing published")
	}
	select {
	case b := <-got:
		t.Fatalf("a refused batch was published: %s", b)
	default:
	}
}
