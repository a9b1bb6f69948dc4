package model_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/config/model"
)

func mustTime(t *testing.T) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, "2026-12-06T23:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	return at
}

func TestGrayPercentRampIsMonotone(t *testing.T) {
	t.Parallel()
	salt := model.GraySalt("shop", "default", "application")
	in := func(pct float64) map[string]bool {
		r := model.Rules{Percent: pct}
		out := map[string]bool{}
		for i := range 1000 {
			id := fmt.Sprintf("instance-%d", i)
			if r.Matches(salt, model.Client{ID: id}) {
				out[id] = true
			}
		}
		return out
	}
	prev := map[string]bool{}
	for _, pct := range []float64{0, 5, 10, 20, 30, 100} {
		now := in(pct)
		for id := range prev {
			if !now[id] {
				t.Fatalf("%s was in at a lower percentage but is out at %v %%", id, pct)
			}
		}
		if n := len(now); float64(n) < pct*10-25 || float64(n) > pct*10+25 {
			t.Errorf("%v %%: %d of 1000 clients", pct, n)
		}
		prev = now
	}
}

func TestGrayMatchesIPAndLabel(t *testing.T) {
	t.Parallel()
	r := model.Rules{IPs: []string{"10.0.0.1", "::ffff:10.0.0.2"}, Labels: []string{"canary"}}.Normalize()
	for _, c := range []model.Client{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}, {Label: "canary", IP: "1.1.1.1"}} {
		if !r.Matches("s", c) {
			t.Errorf("%+v does not match %+v", c, r)
		}
	}
	for _, c := range []model.Client{{IP: "10.0.0.3"}, {Label: "other"}, {}} {
		if r.Matches("s", c) {
			t.Errorf("%+v matches %+v", c, r)
		}
	}
	if !(model.Rules{IPs: []string{"*"}}).Matches("s", model.Client{IP: "9.9.9.9"}) {
		t.Error("* does not match every IP")
	}
	if (model.Rules{Percent: 100}).Matches("s", model.Client{}) {
		t.Error("a client without identity is in by percentage")
	}
}

func TestRulesValidate(t *testing.T) {
	t.Parallel()
	l := model.Rules{Percent: 101, IPs: []string{"10.0.0.1", "nope"}, Labels: []string{"ok", "bad label"}}.Validate()
	got := l.Error()
	for _, want := range []string{"percent: must be 0 to 100", "ips[1]: \"nope\"", "labels[1]:"} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate = %q, want %q", got, want)
		}
	}
}
