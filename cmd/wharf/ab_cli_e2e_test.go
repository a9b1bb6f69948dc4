package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/ab"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestABTourThroughServe is the README tour of A/B decisions, every step
// a CLI command against a real serve: create a layer and an experiment,
// start it, decide, send events, read results (table and JSON, trimmed);
// ramp coverage (nobody moves), a weight change that would move units is
// refused until confirmed, reassign; another team sees nothing; bad
// input is refused naming the field.
func TestABTourThroughServe(t *testing.T) {
	dir := t.TempDir()
	p := startWharf(t, dir, nil, append(serveArgs(t), "--agent-local=false")...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	tokens := map[string]string{}
	for name, scope := range map[string]string{"shop": "team:shop", "bank": "team:bank"} {
		r := call(t, "POST", gw+"/api/v1/tokens", admin, map[string]any{"name": name, "scopes": []string{scope}})
		if r.status != 201 {
			t.Fatalf("create %s token: %d %s", name, r.status, r.raw)
		}
		tokens[name] = r.body["token"].(string)
	}
	c := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw}}
	shop, bank := c.with("WHARF_TOKEN="+tokens["shop"]), c.with("WHARF_TOKEN="+tokens["bank"])

	// A layer and an experiment in it.
	wantLines(t, "layer create", shop.ok("ab", "layer", "create", "checkout", "--description", "checkout page"), "Layer checkout of team shop (salt shop/checkout).")
	wantLines(t, "layer list", shop.ok("ab", "layer", "list"), "NAME", "checkout", "shop/checkout")
	wantLines(t, "layer show", shop.ok("ab", "layer", "show", "checkout"), "salt: shop/checkout", "created by shop")
	wantLines(t, "experiment create", shop.ok("ab", "experiment", "create", "button", "--layer", "checkout", "--range", "0-5000",
		"--variation", `control=0.5={"color":"grey"}`, "--variation", `blue=0.5={"color":"blue"}`),
		"Experiment button of team shop: draft, 2 variations (weights 0.5/0.5), layer checkout [0, 5000), coverage 1, bucket version 0.")
	shop.fails("range: overlaps the range of experiment \"button\"", "ab", "experiment", "create", "other", "--layer", "checkout", "--range", "4000-6000", "--variation", "a=0.5", "--variation", "b=0.5")
	shop.fails("variations: weights must sum to 1", "ab", "experiment", "create", "bad", "--variation", "a=0.5", "--variation", "b=0.7")
	wantLines(t, "experiment start", shop.ok("ab", "experiment", "start", "button"), "running")
	wantLines(t, "experiment list", shop.ok("ab", "experiment", "list"), "KEY", "button", "running", "0-5000")

	// Decide: wait until the start is live, then find a unit in and one out.
	var in, out string
	testenv.Eventually(t, 10*time.Second, func() error {
		in, out = "", ""
		for i := range 40 {
			var d ab.Decision
			if err := json.Unmarshal([]byte(shop.ok("ab", "decide", fmt.Sprintf("user-%d", i), "-o", "json")), &d); err != nil {
				return err
			}
			if len(d.Assignments) == 1 && in == "" {
				in = d.Unit
			} else if len(d.Assignments) == 0 && out == "" {
				out = d.Unit
			}
		}
		if in == "" || out == "" {
			return fmt.Errorf("no unit in (%q) or out (%q) yet", in, out)
		}
		return nil
	})
	wantLines(t, "decide", shop.ok("ab", "decide", in, "--attr", "country=fr"), "Unit "+in+", team shop", "EXPERIMENT", "button", "checkout", `{"color":`)
	wantLines(t, "decide --explain", shop.ok("ab", "decide", out, "--explain"), "REASON", "outside the experiment's range")
	wantLines(t, "decide (another team)", bank.ok("ab", "decide", in), "In no running experiment.")

	// The units of the events are decided first: results count the
	// units a decision exposed.
	for i := range 400 {
		if r := call(t, "POST", gw+"/fn/ab/decide", tokens["shop"], map[string]any{"unit": fmt.Sprintf("user-%d", i)}); r.status != 200 {
			t.Fatalf("decide user-%d: %d %s", i, r.status, r.raw)
		}
	}

	// Events: one through the CLI, a batch over HTTP; the aggregator keeps
	// per-unit totals.
	wantLines(t, "track", shop.ok("ab", "track", in, "revenue", "12.5"), "Accepted 1 event.")
	var batch []map[string]any
	for i := range 400 {
		u := fmt.Sprintf("user-%d", i)
		v := float64(i%7) + 1
		if u == in {
			v = 10000 // an outlier, in the experiment
		}
		batch = append(batch, map[string]any{"unit": u, "metric": "revenue", "value": v})
	}
	if r := call(t, "POST", gw+"/fn/ab/track", tokens["shop"], batch); r.status != 202 {
		t.Fatalf("track batch: %d %s", r.status, r.raw)
	}
	var res ab.Results
	testenv.Eventually(t, 20*time.Second, func() error {
		if err := json.Unmarshal([]byte(shop.ok("ab", "results", "button", "-o", "json")), &res); err != nil {
			return err
		}
		n := 0
		for _, m := range res.Metrics {
			for _, v := range m.Variations {
				n += v.Units
			}
		}
		if len(res.Metrics) != 1 || n < 150 {
			return fmt.Errorf("results not aggregated yet: %+v", res)
		}
		return nil
	})
	if res.Metrics[0].Metric != "revenue" || res.Metrics[0].Variations[1].Comparison == nil {
		t.Fatalf("results: %+v", res)
	}
	table := shop.ok("ab", "results", "button")
	wantLines(t, "results", table, "Experiment button of team shop (running, bucket version 0), trim none.", "Exposed units: ", "SRM:", "METRIC", "revenue", "0 control", "1 blue", "LIFT", "CI95")
	trimmed := shop.ok("ab", "results", "button", "--trim", "iqr", "-o", "json")
	var tr ab.Results
	if err := json.Unmarshal([]byte(trimmed), &tr); err != nil {
		t.Fatal(err)
	}
	lost := tr.Metrics[0].Variations[0].Trimmed + tr.Metrics[0].Variations[1].Trimmed
	maxMean := max(res.Metrics[0].Variations[0].Mean, res.Metrics[0].Variations[1].Mean)
	if tr.Trim != "iqr" || lost < 1 || maxMean < 20 || max(tr.Metrics[0].Variations[0].Mean, tr.Metrics[0].Variations[1].Mean) > 8 {
		t.Fatalf("trim iqr should drop the outlier of %s (untrimmed max mean %v): %s", in, maxMean, trimmed)
	}
	wantLines(t, "results --trim cap", shop.ok("ab", "results", "button", "--trim", "cap:0.99", "--holm"), "trim cap:0.99", "P_HOLM")

	// A conversion: every unit sends "exposed", a third "converted"; with
	// the exposed units as the population the others count 0, and the
	// metric is a proportion.
	var conv []map[string]any
	for i := range 400 {
		u := fmt.Sprintf("user-%d", i)
		conv = append(conv, map[string]any{"unit": u, "metric": "exposed", "value": 1})
		if i%3 == 0 {
			conv = append(conv, map[string]any{"unit": u, "metric": "converted", "value": 1})
		}
	}
	if r := call(t, "POST", gw+"/fn/ab/track", tokens["shop"], conv); r.status != 202 {
		t.Fatalf("track conversions: %d %s", r.status, r.raw)
	}
	testenv.Eventually(t, 20*time.Second, func() error {
		var pr ab.Results
		if err := json.Unmarshal([]byte(shop.ok("ab", "results", "button", "--metric", "converted", "--population", "exposed", "-o", "json")), &pr); err != nil {
			return err
		}
		if len(pr.Metrics) != 1 || pr.Metrics[0].Kind != "proportion" || pr.Population != "exposed" {
			return fmt.Errorf("population results: %+v", pr)
		}
		v := pr.Metrics[0].Variations
		if v[0].Units+v[1].Units < 150 || v[0].Mean < 0.2 || v[0].Mean > 0.5 || v[1].Proportion == nil {
			return fmt.Errorf("not all aggregated yet: %+v", v)
		}
		return nil
	})
	wantLines(t, "results --population", shop.ok("ab", "results", "button", "--metric", "converted", "--population", "exposed"), "Population: the exposed units that sent exposed", "proportion")
	shop.fails("trim", "ab", "results", "button", "--trim", "median")

	// Show (exposures and SRM), ramp, reassign.
	wantLines(t, "experiment show", shop.ok("ab", "experiment", "show", "button"), "EXPOSURES", "SRM:", "Created by shop")
	wantLines(t, "ramp coverage", shop.ok("ab", "experiment", "ramp", "button", "--coverage", "0.5"), "Saved:", "coverage 0.5", "0.00% change variation")
	shop.fails("confirm_reassign", "ab", "experiment", "ramp", "button", "--weights", "0.2,0.8")
	wantLines(t, "ramp dry run", shop.ok("ab", "experiment", "ramp", "button", "--weights", "0.2,0.8", "--dry-run"), "Dry run, not saved")
	wantLines(t, "ramp confirmed", shop.ok("ab", "experiment", "ramp", "button", "--weights", "0.2,0.8", "--confirm-reassign"), "Saved:", "weights 0.2/0.8")
	wantLines(t, "reassign", shop.ok("ab", "experiment", "reassign", "button"), "bucket version 1")
	wantLines(t, "experiment show (audit)", shop.ok("ab", "experiment", "show", "button"), "REVISION", "reassign", "weights 0.2/0.8")

	// Edit in place: a stale revision is refused, names and values change
	// in place, a new seed needs a new bucket version; audited.
	var cur ab.ExperimentView
	if err := json.Unmarshal([]byte(shop.ok("ab", "experiment", "show", "button", "-o", "json")), &cur); err != nil {
		t.Fatal(err)
	}
	rev, stale := strconv.Itoa(cur.Revision), strconv.Itoa(cur.Revision-1)
	navy := []string{"--variation", `control=0.2={"color":"grey"}`, "--variation", `navy=0.8={"color":"navy"}`}
	shop.fails("revision "+rev+", not "+stale, append([]string{"ab", "experiment", "edit", "button", "--if-match", stale}, navy...)...)
	wantLines(t, "edit", shop.ok(append([]string{"ab", "experiment", "edit", "button", "--if-match", rev}, navy...)...), "Saved:", "0.00% change variation")
	shop.fails("new_bucket_version", "ab", "experiment", "edit", "button", "--seed", "button-2")
	wantLines(t, "edit --new-bucket-version", shop.ok("ab", "experiment", "edit", "button", "--seed", "button-2", "--new-bucket-version"), "Saved:", "bucket version 2")
	wantLines(t, "edit --dry-run", shop.ok("ab", "experiment", "edit", "button", "--condition", `{"country":"fr"}`, "--dry-run"), "Dry run, not saved")
	shop.fails("nothing to change", "ab", "experiment", "edit", "button")
	shop.fails(`--range ""`, "ab", "experiment", "edit", "button", "--range", "")
	wantLines(t, "experiment show (edit audited)", shop.ok("ab", "experiment", "show", "button"), "navy", "changed variations", "changed seed")
	shop.fails("coverage", "ab", "experiment", "edit", "button", "--coverage", "2")
	bank.fails("not found", "ab", "experiment", "edit", "button", "--team", "shop", "--coverage", "0.5")
	var key ab.SDKKey
	if err := json.Unmarshal([]byte(shop.ok("ab", "sdk-key", "create", "-o", "json")), &key); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "sdk-key create", shop.ok("ab", "sdk-key", "create"), "Client key of team shop: sdk-")
	wantLines(t, "sdk-key list", shop.ok("ab", "sdk-key", "list"), "CLIENT_KEY", key.ClientKey, "shop")
	testenv.Eventually(t, 5*time.Second, func() error {
		if r := call(t, "GET", gw+"/api/features/"+key.ClientKey, "", nil); r.status != 200 || !strings.Contains(r.raw, `"button"`) {
			return fmt.Errorf("features: %d %s", r.status, r.raw)
		}
		return nil
	})
	bank.fails("not found", "ab", "sdk-key", "revoke", key.ClientKey)
	wantLines(t, "sdk-key revoke", shop.ok("ab", "sdk-key", "revoke", key.ClientKey), "Revoked client key "+key.ClientKey)
	wantLines(t, "experiment stop", shop.ok("ab", "experiment", "stop", "button"), "stopped")
	shop.fails("holds experiment \"button\"", "ab", "layer", "delete", "checkout")
	wantLines(t, "experiment delete", shop.ok("ab", "experiment", "delete", "button"), "Deleted experiment button of team shop.")
	wantLines(t, "layer delete", shop.ok("ab", "layer", "delete", "checkout"), "Deleted layer checkout of team shop.")

	// Another team sees nothing of shop's.
	shop.ok("ab", "experiment", "create", "kept", "--variation", "a=0.5", "--variation", "b=0.5")
	bank.fails("not found", "ab", "experiment", "show", "kept", "--team", "shop")
	wantLines(t, "bank's list", bank.ok("ab", "experiment", "list"), "No experiments.")
}
