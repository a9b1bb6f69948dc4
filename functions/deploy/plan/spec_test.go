package plan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSpecFull(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(`{
		"version": "1.4.2+build.7", "why": "fix checkout",
		"targets": {"rooms": ["bj", "sh"], "labels": ["gpu", "zone=a"], "hosts": ["h1"]},
		"strategy": {"kind": "canary", "steps": [10, 50, 100], "pause": "2m"},
		"max_unavailable": "25%",
		"health": {"error_rate_max": 0.02, "window": "1m", "min_requests": 50},
		"auto_rollback": false,
		"timeouts": {"step": "20m", "task": "3m"}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Strategy.Pause != (Pause{D: 2 * time.Minute}) || s.MaxUnavailable != Percent(25) ||
		s.Health.Window.D() != time.Minute || s.autoRollback() || s.taskTimeout() != 3*time.Minute {
		t.Fatalf("parsed %+v", s)
	}
	// A round trip through JSON gives the same spec.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSpec(b)
	if err != nil {
		t.Fatalf("reparse %s: %v", b, err)
	}
	b2, _ := json.Marshal(s2)
	if string(b) != string(b2) {
		t.Fatalf("round trip\n%s\n%s", b, b2)
	}
}

func TestSpecDefaults(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec([]byte(`{"version":"1","targets":{"all":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := s.WithDefaults()
	if d.Strategy.Kind != KindAll || d.MaxUnavailable != Count(1) || d.Health.Window.D() != DefaultGateWindow ||
		d.Health.MinRequests != DefaultMinRequests || d.Timeouts.Step.D() != DefaultStepTimeout ||
		d.Timeouts.Task.D() != DefaultTaskTimeout || d.AutoRollback == nil || !*d.AutoRollback {
		t.Fatalf("defaults %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("spec with defaults: %v", err)
	}
	b, _ := json.Marshal(d)
	want := `{"version":"1","targets":{"all":true},"strategy":{"kind":"all"},"max_unavailable":1,` +
		`"health":{"window":"30s","min_requests":20},"auto_rollback":true,"timeouts":{"step":"10m0s","task":"5m0s"}}`
	if string(b) != want {
		t.Fatalf("JSON\n%s\nwant\n%s", b, want)
	}
}

func TestParseSpecErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body string
		fields     []string
	}{
		{"ok rolling", `{"version":"2","targets":{"rooms":["bj"]},"strategy":{"kind":"rolling","batch":2,"pause":"manual"}}`, nil},
		{"no version", `{"targets":{"all":true}}`, []string{"version"}},
		{"bad version", `{"version":"-1","targets":{"all":true}}`, []string{"version"}},
		{"long version", `{"version":"` + strings.Repeat("1", 129) + `","targets":{"all":true}}`, []string{"version"}},
		{"long why", `{"version":"1","why":"` + strings.Repeat("x", MaxWhy+1) + `","targets":{"all":true}}`, []string{"why"}},
		{"no selector", `{"version":"1","targets":{}}`, []string{"targets"}},
		{"all and rooms", `{"version":"1","targets":{"all":true,"rooms":["bj"]}}`, []string{"targets.all"}},
		{"bad room", `{"version":"1","targets":{"rooms":["bj","BJ"]}}`, []string{"targets.rooms[1]"}},
		{"dup host", `{"version":"1","targets":{"hosts":["h1","h2","h1"]}}`, []string{"targets.hosts[2]"}},
		{"bad label", `{"version":"1","targets":{"labels":["a b"]}}`, []string{"targets.labels[0]"}},
		{"bad kind", `{"version":"1","targets":{"all":true},"strategy":{"kind":"blue-green"}}`, []string{"strategy.kind"}},
		{"rolling without batch", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling"}}`, []string{"strategy.batch"}},
		{"batch 0%", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling","batch":"0%"}}`, []string{"strategy.batch"}},
		{"batch 101%", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling","batch":"101%"}}`, []string{"strategy.batch"}},
		{"batch negative", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling","batch":-1}}`, []string{"strategy.batch"}},
		{"batch on canary", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[100],"batch":1}}`, []string{"strategy.batch"}},
		{"canary no steps", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary"}}`, []string{"strategy.steps"}},
		{"canary not increasing", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[10,10,100]}}`, []string{"strategy.steps[1]"}},
		{"canary not 100", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[10,50]}}`, []string{"strategy.steps[1]"}},
		{"canary over 100", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[50,150,100]}}`, []string{"strategy.steps[1]", "strategy.steps[2]"}},
		{"steps on rolling", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling","batch":1,"steps":[100]}}`, []string{"strategy.steps"}},
		{"pause on all", `{"version":"1","targets":{"all":true},"strategy":{"pause":"1m"}}`, []string{"strategy.pause"}},
		{"pause too long", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[100],"pause":"25h"}}`, []string{"strategy.pause"}},
		{"max_unavailable 0%", `{"version":"1","targets":{"all":true},"max_unavailable":"0%"}`, []string{"max_unavailable"}},
		{"error rate", `{"version":"1","targets":{"all":true},"health":{"error_rate_max":1.5}}`, []string{"health.error_rate_max"}},
		{"window", `{"version":"1","targets":{"all":true},"health":{"window":"1s"}}`, []string{"health.window"}},
		{"min requests", `{"version":"1","targets":{"all":true},"health":{"min_requests":-1}}`, []string{"health.min_requests"}},
		{"timeouts", `{"version":"1","targets":{"all":true},"timeouts":{"step":"10s","task":"2h"}}`, []string{"timeouts.step", "timeouts.task"}},
		{"task over step", `{"version":"1","targets":{"all":true},"timeouts":{"step":"2m","task":"5m"}}`, []string{"timeouts.task"}},
		// Wrong JSON types name the field too.
		{"batch 2.5", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling","batch":2.5}}`, []string{"strategy.batch"}},
		{"batch word", `{"version":"1","targets":{"all":true},"strategy":{"kind":"rolling","batch":"half"}}`, []string{"strategy.batch"}},
		{"pause word", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[100],"pause":"soon"}}`, []string{"strategy.pause"}},
		{"pause number", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":[100],"pause":5}}`, []string{"strategy.pause"}},
		{"window number", `{"version":"1","targets":{"all":true},"health":{"window":30}}`, []string{"health.window"}},
		{"steps strings", `{"version":"1","targets":{"all":true},"strategy":{"kind":"canary","steps":["10"]}}`, []string{"strategy.steps"}},
		{"version number", `{"version":1,"targets":{"all":true}}`, []string{"version"}},
		{"auto_rollback string", `{"version":"1","targets":{"all":true},"auto_rollback":"yes"}`, []string{"auto_rollback"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpec([]byte(tt.body))
			assertFields(t, err, tt.fields...)
		})
	}
}

func TestParseSpecRejects(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``,
		`{"version":"1","targets":{"all":true},"strategy":{"kind":"all","batchh":1}}`,
		`{"version":"1","targets":{"all":true}} {}`,
		`{"version":"1","targets":{"all":true}}}`,
		`{"version":"1","targets":{"all":true}}]`,
		`{"version":"1","targets":{"all":true}` + "\n",
		`null`,
	} {
		if _, err := ParseSpec([]byte(body)); err == nil {
			t.Errorf("ParseSpec(%q) accepted", body)
		}
	}
	if _, err := ParseSpec([]byte(" \n{\"version\":\"1\",\"targets\":{\"all\":true}}\r\n\t ")); err != nil {
		t.Errorf("whitespace around the value: %v", err)
	}
}

func TestAmount(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		json  string
		a     Amount
		of10  int
		of3   int
		valid bool
	}{
		{`3`, Count(3), 3, 3, true},
		{`"25%"`, Percent(25), 3, 1, true},
		{`"100%"`, Percent(100), 10, 3, true},
		{`"1%"`, Percent(1), 1, 1, true},
		{`20`, Count(20), 10, 3, true},
	} {
		var a Amount
		if err := json.Unmarshal([]byte(tt.json), &a); err != nil || a != tt.a {
			t.Fatalf("%s: %v, %v", tt.json, a, err)
		}
		if b, _ := json.Marshal(a); string(b) != tt.json {
			t.Fatalf("%v marshals to %s, want %s", a, b, tt.json)
		}
		if a.Of(10) != tt.of10 || a.Of(3) != tt.of3 {
			t.Fatalf("%v of 10 = %d, of 3 = %d", a, a.Of(10), a.Of(3))
		}
	}
	for _, bad := range []string{`"25"`, `"%"`, `"-5%"`, `"+5%"`, `"5 %"`, `1.5`, `1e2`, `true`, `[]`, `"99999999999999999999%"`} {
		var a Amount
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("Amount accepted %s as %v", bad, a)
		}
	}
}

// A key twice in a deploy request is refused naming
// it, not settled by whichever the decoder reads last.
func TestDuplicateKeysRefused(t *testing.T) {
	t.Parallel()
	var fe *FieldError
	if _, err := ParseSpec([]byte(`{"version":"1.0.0","version":"2.0.0"}`)); !errors.As(err, &fe) || fe.Field != "version" || !strings.Contains(fe.Msg, "duplicate key") {
		t.Fatalf("spec: %v", err)
	}
}
