package plan

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// FuzzParseSpec: whatever parses validates, survives a JSON round trip,
// and drives a deploy to an end when every agent answers healthy.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(`{"version":"1.4.2","targets":{"all":true}}`))
	f.Add([]byte(`{"version":"1.4.2","why":"x","targets":{"rooms":["bj"],"labels":["gpu"],"hosts":["h1"]},"strategy":{"kind":"canary","steps":[10,50,100],"pause":"2m"},"max_unavailable":"25%","health":{"error_rate_max":0.02,"window":"1m","min_requests":50},"auto_rollback":false,"timeouts":{"step":"20m","task":"3m"}}`))
	f.Add([]byte(`{"version":"2","targets":{"all":true},"strategy":{"kind":"rolling","batch":"33%","pause":"manual"},"max_unavailable":3}`))
	f.Add([]byte(`{"version":"2","targets":{"all":true},"strategy":{"kind":"rolling","batch":2.5}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := ParseSpec(b)
		if err != nil {
			return
		}
		if err := spec.Validate(); err != nil {
			t.Fatalf("parsed spec does not validate: %v", err)
		}
		out, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseSpec(out)
		if err != nil {
			t.Fatalf("spec %s does not parse again: %v", out, err)
		}
		if out2, _ := json.Marshal(again); string(out2) != string(out) {
			t.Fatalf("round trip\n%s\n%s", out, out2)
		}
		if err := spec.WithDefaults().Validate(); err != nil {
			t.Fatalf("spec with defaults: %v", err)
		}
		spec.Version = relNew.Version
		r, err := NewRecord("d", "shop", relNew, relPrev, "fuzz", spec, targets(7), t0)
		if err != nil {
			t.Fatalf("NewRecord: %v", err)
		}
		gate := &GateSample{Requests: 1000}
		now := t0
		for i := 0; !r.Done() && i < 1000; i++ {
			gate.Step = r.Current
			acts := r.Step(now, Observations{Gate: gate})
			finish(t, r, now, tasks(t, acts), wire.PhaseHealthy)
			switch w := r.Wake(now); {
			case r.State == StateWaiting:
				must(t, r.Resume(now, "fuzz", ""))
			case len(acts) > 0:
			case w.IsZero():
				now = now.Add(time.Second)
			default:
				now = w
			}
		}
		if r.State != StateSucceeded {
			t.Fatalf("deploy %s: %s", r.State, r.Error)
		}
	})
}

// FuzzParseEvent: whatever parses applies to a deploy without panicking,
// and applying it twice changes nothing the second time.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"deploy_id":"d","task_id":1,"host":"h00","state":"starting","log_tail":"a\nb"}`))
	f.Add([]byte(`{"deploy_id":"d","task_id":1,"host":"h01","state":"healthy","duration":"3s","at":"2026-03-01T12:00:00Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := wire.ParseEvent(b)
		if err != nil {
			return
		}
		spec := baseSpec()
		spec.MaxUnavailable = Percent(100)
		r, err := NewRecord("d", "shop", relNew, relPrev, "fuzz", spec, targets(3), t0)
		if err != nil {
			t.Fatal(err)
		}
		r.Step(t0, Observations{})
		if _, err := r.Apply(e, t0); err != nil {
			return
		}
		if changed, err := r.Apply(e, t0); changed || err != nil {
			t.Fatalf("second Apply: %v %v", changed, err)
		}
		r.Step(t0, Observations{})
		if _, err := ParseRecord(mustJSON(t, r)); err != nil {
			t.Fatalf("record after the event: %v", err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
