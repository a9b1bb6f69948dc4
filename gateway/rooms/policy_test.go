package rooms

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

// assertFields fails unless err joins *FieldErrors for exactly fields (in
// any order); no fields means no error.
func assertFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	var got []string
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		switch u := e.(type) {
		case *FieldError:
			got = append(got, u.Field)
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		default:
			if errors.As(e, &fe) {
				got = append(got, fe.Field)
			} else {
				got = append(got, "?"+e.Error())
			}
		}
	}
	if err != nil {
		walk(err)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(fields))
	if !slices.Equal(got, want) {
		t.Fatalf("error %v names fields %q, want %q", err, got, want)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	ok := func() Policy {
		return Policy{Weights: map[string]int{"bj": 100, "sh": 0}, Priority: []string{"bj", "sh", "gz"}}
	}
	for _, tt := range []struct {
		name   string
		edit   func(*Policy)
		fields []string
	}{
		{"ok", func(*Policy) {}, nil},
		{"no weights", func(p *Policy) { p.Weights = nil }, []string{"weights"}},
		{"all zero", func(p *Policy) { p.Weights = map[string]int{"bj": 0} }, []string{"weights"}},
		{"negative", func(p *Policy) { p.Weights["sh"] = -5 }, []string{"weights.sh"}},
		{"too heavy", func(p *Policy) { p.Weights["sh"] = MaxWeight + 1 }, []string{"weights.sh"}},
		{"bad room name", func(p *Policy) { p.Weights["Bei Jing"] = 1 }, []string{"weights.Bei Jing"}},
		{"duplicate priority", func(p *Policy) { p.Priority = []string{"bj", "sh", "bj"} }, []string{"priority[2]"}},
		{"bad priority room", func(p *Policy) { p.Priority = []string{"-bj"} }, []string{"priority[0]"}},
		{"threshold above 1", func(p *Policy) { p.Threshold = 1.5 }, []string{"threshold"}},
		{"negative threshold", func(p *Policy) { p.Threshold = -0.1 }, []string{"threshold"}},
		{"overprovision below 1", func(p *Policy) { p.Overprovision = 0.5 }, []string{"overprovision"}},
		{"recover_after too short", func(p *Policy) { p.RecoverAfter = config.Duration(time.Millisecond) }, []string{"recover_after"}},
		{"several at once", func(p *Policy) { p.Threshold, p.Overprovision = 2, 20 }, []string{"threshold", "overprovision"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := ok()
			tt.edit(&p)
			assertFields(t, p.Validate(), tt.fields...)
		})
	}
}

func TestPolicyJSON(t *testing.T) {
	t.Parallel()
	in := `{"weights":{"bj":100,"sh":0},"priority":["bj","sh"],"threshold":0.8,"overprovision":1.2,"recover_after":"45s","sticky":true}`
	p, err := ParsePolicy([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Policy{Weights: map[string]int{"bj": 100, "sh": 0}, Priority: []string{"bj", "sh"}, Threshold: 0.8,
		Overprovision: 1.2, RecoverAfter: config.Duration(45 * time.Second), Sticky: true}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("parsed %+v, want %+v", p, want)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != in {
		t.Fatalf("marshal %s, want %s", b, in)
	}
	// Defaults: zero values are left out and mean the defaults.
	p, err = ParsePolicy([]byte(`{"weights":{"bj":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := p.WithDefaults()
	if d.Threshold != DefaultThreshold || d.Overprovision != DefaultOverprovision || d.RecoverAfter.D() != DefaultRecoverAfter {
		t.Fatalf("defaults %+v", d)
	}
	if b, _ := json.Marshal(p); string(b) != `{"weights":{"bj":1}}` {
		t.Fatalf("marshal %s", b)
	}
	for in, field := range map[string]string{
		`{"weights":{"bj":1},"treshold":0.5}`:         "treshold",
		`{"weights":{"bj":-1}}`:                       "weights.bj",
		`{"weights":{"bj":1},"recover_after":"soon"}`: "want a duration",
		`{"weights":{"bj":"x"}}`:                      "weights",
		`{"weights":{"bj":1}} trailing`:               "trailing data",
	} {
		if _, err := ParsePolicy([]byte(in)); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("ParsePolicy(%s) = %v, want an error about %s", in, err, field)
		}
	}
}

func TestPolicyWithWeightsCopies(t *testing.T) {
	t.Parallel()
	p := Policy{Weights: map[string]int{"bj": 1}, Priority: []string{"bj"}}
	q := p.WithWeights(map[string]int{"sh": 1})
	q.Priority[0] = "x"
	if p.Weights["bj"] != 1 || p.Priority[0] != "bj" || q.Weights["sh"] != 1 {
		t.Fatalf("WithWeights shares state: %+v %+v", p, q)
	}
	if got := (Policy{Weights: map[string]int{"sh": 1, "bj": 0}, Priority: []string{"gz"}}).Rooms(); !slices.Equal(got, []string{"bj", "gz", "sh"}) {
		t.Fatalf("Rooms() = %v", got)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"weights":{"bj":100,"sh":0},"priority":["bj","sh"],"recover_after":"10s"}`))
	f.Add([]byte(`{"weights":{"a":1,"b":2,"c":3},"threshold":1,"overprovision":10}`))
	f.Add([]byte(`{"weights":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed policy does not validate: %v", err)
		}
		h := Health{}
		for i, r := range p.Rooms() {
			h[r] = RoomHealth{Healthy: i % 3, Total: 2}
		}
		sum := 0.0
		for _, s := range Distribute(p, h) {
			if s < 0 || s > 1 || s != s {
				t.Fatalf("share %v", s)
			}
			sum += s
		}
		if !near(sum, 1, 1e-9) {
			t.Fatalf("shares sum to %v", sum)
		}
	})
}

func FuzzParseSwitchSpec(f *testing.F) {
	f.Add([]byte(`{"service":"shop","who":"a","from":{"bj":100},"to":{"sh":100},"fractions":[0.1,0.5,1],"interval":"5s"}`))
	f.Add([]byte(`{"service":"shop","who":"a","from":{"bj":1},"steps":[{"bj":1,"sh":1},{"sh":7}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := ParseSwitchSpec(b)
		if err != nil {
			return
		}
		s, err := NewSwitch(spec, t0)
		if err != nil {
			return // only a step that rounds to all zero
		}
		for i := 0; s.State() == SwitchRunning && i < 2*MaxSteps; i++ {
			w, _ := s.Advance(t0.Add(time.Duration(i) * MaxStepInterval))
			if !anyPositive(w) {
				t.Fatalf("step weights %v", w)
			}
		}
		if s.State() != SwitchDone {
			t.Fatalf("switch %s after every step", s.State())
		}
		r := s.Record()
		if err := r.Validate(); err != nil {
			t.Fatalf("record of a done switch: %v", err)
		}
	})
}
