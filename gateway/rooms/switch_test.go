package rooms

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

func staged() SwitchSpec {
	return SwitchSpec{
		ID: "sw-1", Service: "shop", Who: "alice", Why: "bj maintenance",
		From:      map[string]int{"bj": 100, "sh": 0},
		To:        map[string]int{"bj": 0, "sh": 100},
		Fractions: []float64{0.1, 0.5, 1},
		Interval:  config.Duration(time.Minute),
		Drain:     config.Duration(20 * time.Second),
	}
}

func mustSwitch(t *testing.T, spec SwitchSpec, now time.Time) *Switch {
	t.Helper()
	s, err := NewSwitch(spec, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func expectAdvance(t *testing.T, s *Switch, now time.Time, want map[string]int, changed bool) {
	t.Helper()
	got, ch := s.Advance(now)
	if !maps.Equal(got, want) || ch != changed {
		t.Fatalf("Advance(%s) = %v, %v; want %v, %v", now.Sub(t0), got, ch, want, changed)
	}
}

func TestSwitchStaged(t *testing.T) {
	t.Parallel()
	s := mustSwitch(t, staged(), sec(0))
	if !maps.Equal(s.Weights(), map[string]int{"bj": 100, "sh": 0}) {
		t.Fatalf("before the first Advance: %v, want From", s.Weights())
	}
	expectAdvance(t, s, sec(0), map[string]int{"bj": 90, "sh": 10}, true)
	expectAdvance(t, s, sec(1), map[string]int{"bj": 90, "sh": 10}, false)
	expectAdvance(t, s, sec(59), map[string]int{"bj": 90, "sh": 10}, false)
	if !s.NextAt().Equal(sec(60)) {
		t.Fatalf("next step at %s, want t+60s", s.NextAt().Sub(t0))
	}
	expectAdvance(t, s, sec(60), map[string]int{"bj": 50, "sh": 50}, true)
	// Late by 50 s: one step per call; the next is due an interval later.
	expectAdvance(t, s, sec(170), map[string]int{"bj": 0, "sh": 100}, true)
	if s.State() != SwitchDone || !s.NextAt().IsZero() {
		t.Fatalf("state %s, next %v; want done", s.State(), s.NextAt())
	}
	expectAdvance(t, s, sec(1000), map[string]int{"bj": 0, "sh": 100}, false)

	r := s.Record()
	wantStarts := []time.Time{sec(0), sec(60), sec(170)}
	for i, st := range r.Steps {
		if !st.StartedAt.Equal(wantStarts[i]) {
			t.Errorf("step %d started at %s, want %s", i, st.StartedAt.Sub(t0), wantStarts[i].Sub(t0))
		}
	}
	if !r.ChangedAt().Equal(sec(170)) || !r.DrainUntil().Equal(sec(190)) || !r.EndedAt.Equal(sec(170)) {
		t.Fatalf("changed %v drain until %v ended %v", r.ChangedAt(), r.DrainUntil(), r.EndedAt)
	}
	if len(r.Actions) != 2 || r.Actions[0].What != ActionStart || r.Actions[0].Who != "alice" || r.Actions[1].What != ActionDone {
		t.Fatalf("actions %+v", r.Actions)
	}
	if err := s.Pause(sec(1001), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("pause after done: %v", err)
	}
	if err := s.Abort(sec(1001), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("abort after done: %v", err)
	}
}

func TestSwitchImmediate(t *testing.T) {
	t.Parallel()
	spec := staged()
	spec.Fractions, spec.Interval = nil, 0
	s := mustSwitch(t, spec, sec(0))
	expectAdvance(t, s, sec(0), map[string]int{"bj": 0, "sh": 100}, true)
	if s.State() != SwitchDone || len(s.Record().Steps) != 1 {
		t.Fatalf("state %s, steps %d", s.State(), len(s.Record().Steps))
	}
}

func TestSwitchPauseResume(t *testing.T) {
	t.Parallel()
	s := mustSwitch(t, staged(), sec(0))
	s.Advance(sec(0))
	if err := s.Pause(sec(40), "bob", "errors rising"); err != nil {
		t.Fatal(err)
	}
	if err := s.Pause(sec(41), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("second pause: %v", err)
	}
	expectAdvance(t, s, sec(100), map[string]int{"bj": 90, "sh": 10}, false)
	if err := s.Resume(sec(200), "bob", "fixed"); err != nil {
		t.Fatal(err)
	}
	if err := s.Resume(sec(201), "bob", ""); !errors.Is(err, ErrWrongState) {
		t.Fatalf("second resume: %v", err)
	}
	// 20 s were left of the interval when paused.
	expectAdvance(t, s, sec(219), map[string]int{"bj": 90, "sh": 10}, false)
	expectAdvance(t, s, sec(220), map[string]int{"bj": 50, "sh": 50}, true)
	r := s.Record()
	if got := []string{r.Actions[1].What, r.Actions[2].What}; got[0] != ActionPause || got[1] != ActionResume || r.Actions[1].Why != "errors rising" {
		t.Fatalf("actions %+v", r.Actions)
	}
}

func TestSwitchAbort(t *testing.T) {
	t.Parallel()
	for _, pause := range []bool{false, true} {
		s := mustSwitch(t, staged(), sec(0))
		s.Advance(sec(0))
		s.Advance(sec(60))
		if pause {
			if err := s.Pause(sec(70), "bob", ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Abort(sec(80), "bob", "sh is slow"); err != nil {
			t.Fatal(err)
		}
		if s.State() != SwitchAborted {
			t.Fatalf("state %s", s.State())
		}
		// The starting weights are back; the next Advance says so.
		expectAdvance(t, s, sec(81), map[string]int{"bj": 100, "sh": 0}, true)
		expectAdvance(t, s, sec(500), map[string]int{"bj": 100, "sh": 0}, false)
		r := s.Record()
		if !r.ChangedAt().Equal(sec(80)) || !r.DrainUntil().Equal(sec(100)) || r.Active() {
			t.Fatalf("changed %v drain %v active %v", r.ChangedAt(), r.DrainUntil(), r.Active())
		}
		if err := s.Abort(sec(90), "bob", ""); !errors.Is(err, ErrWrongState) {
			t.Fatalf("second abort: %v", err)
		}
		if err := s.Resume(sec(90), "bob", ""); !errors.Is(err, ErrWrongState) {
			t.Fatalf("resume after abort: %v", err)
		}
	}
}

func TestSwitchExplicitSteps(t *testing.T) {
	t.Parallel()
	spec := staged()
	spec.Fractions, spec.To = nil, nil
	spec.Steps = []map[string]int{{"bj": 3, "sh": 1}, {"bj": 1, "sh": 1}, {"sh": 1}}
	s := mustSwitch(t, spec, sec(0))
	expectAdvance(t, s, sec(0), map[string]int{"bj": 3, "sh": 1}, true)
	expectAdvance(t, s, sec(60), map[string]int{"bj": 1, "sh": 1}, true)
	expectAdvance(t, s, sec(120), map[string]int{"sh": 1}, true)
	if r := s.Record(); !maps.Equal(r.To, map[string]int{"sh": 1}) || r.Steps[0].Fraction != 0 {
		t.Fatalf("record %+v", r)
	}
}

func TestInterpolate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		from, to map[string]int
		t        float64
		want     map[string]int
	}{
		{map[string]int{"bj": 100}, map[string]int{"sh": 100}, 0.1, map[string]int{"bj": 90, "sh": 10}},
		{map[string]int{"bj": 80, "sh": 20}, map[string]int{"bj": 20, "sh": 80}, 0.5, map[string]int{"bj": 50, "sh": 50}},
		// Different sums: shares move, on a scale of 1000.
		{map[string]int{"bj": 1}, map[string]int{"bj": 1, "sh": 3}, 0.5, map[string]int{"bj": 625, "sh": 375}},
		{map[string]int{"bj": 1}, map[string]int{"sh": 3}, 1, map[string]int{"sh": 3}},
	} {
		if got := interpolate(tt.from, tt.to, tt.t); !maps.Equal(got, tt.want) {
			t.Errorf("interpolate(%v, %v, %v) = %v, want %v", tt.from, tt.to, tt.t, got, tt.want)
		}
	}
}

func TestMoveAll(t *testing.T) {
	t.Parallel()
	if got := MoveAll(map[string]int{"bj": 70, "sh": 30}, "gz"); !maps.Equal(got, map[string]int{"bj": 0, "sh": 0, "gz": 100}) {
		t.Fatalf("MoveAll = %v", got)
	}
	if got := MoveAll(nil, "sh"); !maps.Equal(got, map[string]int{"sh": 100}) {
		t.Fatalf("MoveAll(nil) = %v", got)
	}
}

// A stored record restores into a switch that carries on exactly like the
// original.
func TestRecordRoundTripAndRestore(t *testing.T) {
	t.Parallel()
	s := mustSwitch(t, staged(), sec(0))
	s.Advance(sec(0))
	if err := s.Pause(sec(30), "bob", "look"); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s.Record())
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if orig := s.Record(); !reflect.DeepEqual(r, orig) {
		t.Fatalf("round trip:\n got %+v\nwant %+v\njson %s", r, orig, b)
	}
	c, err := Restore(r)
	if err != nil {
		t.Fatal(err)
	}
	expectAdvance(t, c, sec(31), map[string]int{"bj": 90, "sh": 10}, true) // first Advance after Restore reports
	for _, sw := range []*Switch{s, c} {
		if err := sw.Resume(sec(100), "bob", ""); err != nil {
			t.Fatal(err)
		}
	}
	s.Advance(sec(31))
	for _, at := range []int{129, 130, 190, 250} {
		a, ca := s.Advance(sec(at))
		b, cb := c.Advance(sec(at))
		if !maps.Equal(a, b) || ca != cb {
			t.Fatalf("t=%d: original %v %v, restored %v %v", at, a, ca, b, cb)
		}
	}
	if !reflect.DeepEqual(s.Record(), c.Record()) {
		t.Fatal("records differ after the same calls")
	}

	// Restore rejects incoherent records, naming fields.
	bad := s.Record()
	bad.State, bad.Current = "sideways", 7
	_, err = Restore(bad)
	assertFields(t, err, "state", "current")
}

func TestSwitchSpecValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		edit   func(*SwitchSpec)
		fields []string
	}{
		{"ok", func(*SwitchSpec) {}, nil},
		{"no who", func(s *SwitchSpec) { s.Who = "" }, []string{"who"}},
		{"bad service", func(s *SwitchSpec) { s.Service = "Shop!" }, []string{"service"}},
		{"negative weight", func(s *SwitchSpec) { s.From["bj"] = -1 }, []string{"from.bj", "from"}},
		{"all zero to", func(s *SwitchSpec) { s.To = map[string]int{"sh": 0} }, []string{"to"}},
		{"bad room", func(s *SwitchSpec) { s.To["SH"] = 5 }, []string{"to.SH"}},
		{"fractions not increasing", func(s *SwitchSpec) { s.Fractions = []float64{0.5, 0.5, 1} }, []string{"fractions[1]"}},
		{"fractions not ending at 1", func(s *SwitchSpec) { s.Fractions = []float64{0.1, 0.5} }, []string{"fractions[1]"}},
		{"fraction above 1", func(s *SwitchSpec) { s.Fractions = []float64{0.5, 2} }, []string{"fractions[1]"}},
		{"both kinds of steps", func(s *SwitchSpec) { s.Steps = []map[string]int{{"sh": 1}} }, []string{"steps"}},
		{"bad explicit step", func(s *SwitchSpec) {
			s.Fractions, s.To = nil, nil
			s.Steps = []map[string]int{{"sh": 1}, {"sh": 0}}
		}, []string{"steps[1]"}},
		{"to differs from last step", func(s *SwitchSpec) {
			s.Fractions = nil
			s.Steps = []map[string]int{{"sh": 1}}
		}, []string{"to"}},
		{"interval too short", func(s *SwitchSpec) { s.Interval = config.Duration(time.Millisecond) }, []string{"interval"}},
		{"drain negative", func(s *SwitchSpec) { s.Drain = -1 }, []string{"drain"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := staged()
			tt.edit(&s)
			err := s.Validate()
			assertFields(t, err, tt.fields...)
			if _, err2 := NewSwitch(s, sec(0)); (err2 == nil) != (err == nil) {
				t.Fatalf("NewSwitch error %v, Validate %v", err2, err)
			}
		})
	}
}

func TestParseSwitchSpec(t *testing.T) {
	t.Parallel()
	s, err := ParseSwitchSpec([]byte(`{"service":"shop","who":"alice","from":{"bj":100},"to":{"sh":100},
		"fractions":[0.1,0.5,1],"interval":"30s","drain":"10s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Interval.D() != 30*time.Second || s.Drain.D() != 10*time.Second || len(s.Fractions) != 3 {
		t.Fatalf("parsed %+v", s)
	}
	for _, in := range []string{
		`{"service":"shop","who":"alice","from":{"bj":100},"to":{"sh":100},"speed":"fast"}`,
		`{"service":"shop","who":"alice","from":{"bj":100},"to":{"sh":100}} {}`,
		`{"service":"shop","who":"alice","from":{"bj":"x"}}`,
	} {
		if _, err := ParseSwitchSpec([]byte(in)); err == nil {
			t.Errorf("ParseSwitchSpec(%s): no error", in)
		}
	}
}
