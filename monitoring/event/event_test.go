package event

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestPK(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ep, metric string
		tags       map[string]string
		want       string
	}{
		{"web-1", "cpu.idle", nil, "web-1/cpu.idle"},
		{"web-1", "cpu.idle", map[string]string{}, "web-1/cpu.idle"},
		{"web-1", "cpu.idle", map[string]string{"core": "0"}, "web-1/cpu.idle/core=0"},
		{"web-1", "qps", map[string]string{"z": "1", "a": "2", "m": "3"}, "web-1/qps/a=2,m=3,z=1"},
	}
	for _, tc := range cases {
		if got := PK(tc.ep, tc.metric, tc.tags); got != tc.want {
			t.Errorf("PK(%s, %s, %v) = %q, want %q", tc.ep, tc.metric, tc.tags, got, tc.want)
		}
	}
}

func TestID(t *testing.T) {
	t.Parallel()
	sum := md5.Sum([]byte("web-1/cpu.idle/core=0"))
	want := "s_42_" + hex.EncodeToString(sum[:])
	if got := ID(PrefixStrategy, "42", "web-1/cpu.idle/core=0"); got != want {
		t.Errorf("ID = %q, want %q", got, want)
	}
	// md5("") is well known; an expression's prefix is e.
	if got := ID(PrefixExpression, "7", ""); got != "e_7_d41d8cd98f00b204e9800998ecf8427e" {
		t.Errorf("ID = %q", got)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	e := Event{ID: "s_1_x", Status: Problem, CurrentStep: 2, EventTime: 120, StrategyID: "1", Endpoint: "web-1",
		Metric: "cpu.idle", LeftValue: 93.5, Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3, Reason: ReasonThreshold}
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"version":1`, `"pushed_tags":{}`, `"left_value":93.5`, `"current_step":2`, `"event_time":120`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	e.Version, e.PushedTags = Version, map[string]string{}
	if got.ID != e.ID || got.Status != e.Status || got.CurrentStep != 2 || got.LeftValue != 93.5 || got.Version != 1 {
		t.Errorf("round trip: %+v", got)
	}
}

func TestNonFiniteLeftValueIsNull(t *testing.T) {
	t.Parallel()
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		b, err := Marshal(Event{ID: "s_1_x", Status: NoData, CurrentStep: 1, LeftValue: Value(v)})
		if err != nil {
			t.Fatalf("Marshal with left value %v: %v", v, err)
		}
		if !strings.Contains(string(b), `"left_value":null`) {
			t.Errorf("%v encodes as %s", v, b)
		}
		got, err := Unmarshal(b)
		if err != nil || !math.IsNaN(float64(got.LeftValue)) {
			t.Errorf("null decodes to %v, %v", got.LeftValue, err)
		}
	}
}

func TestUnmarshalRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`not json`: "cannot decode event",
		`{"version":2,"id":"a","status":"OK","current_step":1}`:                  "version 2",
		`{"id":"a","status":"OK","current_step":1}`:                              "version 0",
		`{"version":1,"status":"OK","current_step":1}`:                           "id is empty",
		`{"version":1,"id":"a","status":"FINE","current_step":1}`:                "status",
		`{"version":1,"id":"a","status":"OK","current_step":0}`:                  "current_step",
		`{"version":1,"id":"a","status":"OK","current_step":1,"left_value":"x"}`: "cannot decode",
	}
	for in, msg := range cases {
		if _, err := Unmarshal([]byte(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Unmarshal(%s) = %v, want an error saying %q", in, err, msg)
		}
	}
	// Unknown fields are ignored: fields are added within a version.
	if _, err := Unmarshal([]byte(`{"version":1,"id":"a","status":"OK","current_step":1,"new_field":true}`)); err != nil {
		t.Errorf("unknown field refused: %v", err)
	}
	var v Value
	if err := json.Unmarshal([]byte(`1e400`), &v); err == nil {
		t.Error("1e400 accepted as a value")
	}
}
