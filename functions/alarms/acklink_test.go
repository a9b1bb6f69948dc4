package alarms_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/monitoring/acklink"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// link signs a token for case id at step with the store's key.
func (s *server) link(t *testing.T, id, step string, exp time.Time) string {
	t.Helper()
	key, err := wire.LoadAckKey(context.Background(), s.st)
	if err != nil {
		t.Fatal(err)
	}
	return wire.AckPath + acklink.Sign(key, id, step, exp)
}

// TestAckLink: GET /api/v1/ack?token= shows what the link acknowledges
// (JSON, or an HTML page for a browser) and POST acknowledges the case as
// "link", idempotently — whatever token the caller sends, or none: the
// signed link is the authorization. A forged, altered or expired link is
// a 403 with a JSON error, for every scope; a link of a step the case
// moved on from, or of a resolved case, is a 409; a gone case a 404.
func TestAckLink(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			s := newServerOn(t, engine)
			s.putCase(t, firing("am_ack1", "shop", "Down"))
			good := s.link(t, "am_ack1", "firing.1", time.Now().Add(time.Hour))
			other := strings.Repeat("x", 32)
			forged := wire.AckPath + acklink.Sign([]byte(other), "am_ack1", "firing.1", time.Now().Add(time.Hour))
			payload, _, _ := strings.Cut(strings.TrimPrefix(good, wire.AckPath), ".")
			altered := wire.AckPath + payload + "." + strings.Repeat("A", 43)
			expired := s.link(t, "am_ack1", "firing.1", time.Now().Add(-time.Second))
			for _, who := range []string{"", "admin", "team", "other", "agent", "ingest"} {
				for _, bad := range []struct{ path, want string }{
					{forged, "not valid"}, {altered, "not valid"}, {expired, "expired"}, {wire.AckPath + "nonsense", "not valid"},
				} {
					for _, method := range []string{"GET", "POST"} {
						r := s.do(t, method, bad.path, who, "")
						if r.Status != 403 || !strings.Contains(string(r.Body), `"error"`) || !strings.Contains(string(r.Body), bad.want) {
							t.Fatalf("%s %s as %q: %s", method, bad.path, who, r)
						}
					}
				}
				r := s.do(t, "GET", good, who, "")
				v := decode[alarms.AckView](t, r)
				if r.Status != 200 || v.Case != "am_ack1" || v.Team != "shop" || !v.CanAck || v.AckedBy != "" || v.Status != "firing" {
					t.Fatalf("GET as %q: %s", who, r)
				}
			}
			if c := s.readCase(t, "am_ack1"); c.AckedBy != "" {
				t.Fatalf("a GET acknowledged: %+v", c)
			}
			// A browser gets a page with a button; labels are escaped.
			hr := gatewaytest.Do(t, s.addr, "GET", good, map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, "")
			if hr.Status != 200 || !strings.HasPrefix(hr.Get("Content-Type"), "text/html") || !strings.Contains(string(hr.Body), `<form method="post">`) || hr.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("HTML: %s", hr)
			}
			for _, who := range []string{"agent", ""} { // twice: idempotent
				r := s.do(t, "POST", good, who, "")
				v := decode[alarms.AckView](t, r)
				if r.Status != 200 || v.AckedBy != "link" || v.AckedAt.IsZero() || v.CanAck {
					t.Fatalf("POST as %q: %s", who, r)
				}
			}
			c := s.readCase(t, "am_ack1")
			acks := 0
			for _, e := range c.History {
				if e.Kind == alarm.EntryAcked && e.By == "link" {
					acks++
				}
			}
			if c.AckedBy != "link" || acks != 1 {
				t.Fatalf("case after two POSTs: acked by %q, %d history entries", c.AckedBy, acks)
			}
			// Another step, a resolved case, a gone case.
			s.putCase(t, firing("am_ack2", "shop", "Down"))
			if r := s.do(t, "POST", s.link(t, "am_ack2", "firing.0", time.Now().Add(time.Hour)), "", ""); r.Status != 409 || !strings.Contains(string(r.Body), "moved on") {
				t.Fatalf("older step: %s", r)
			}
			res := firing("am_ack3", "shop", "Down")
			res.State = alarm.Resolved
			s.putCase(t, res)
			if r := s.do(t, "POST", s.link(t, "am_ack3", "firing.1", time.Now().Add(time.Hour)), "", ""); r.Status != 409 || !strings.Contains(string(r.Body), "resolved") {
				t.Fatalf("resolved: %s", r)
			}
			if r := s.do(t, "GET", s.link(t, "am_gone", "firing.1", time.Now().Add(time.Hour)), "", ""); r.Status != 404 {
				t.Fatalf("gone: %s", r)
			}
			// The key is never answered.
			key, _ := wire.LoadAckKey(context.Background(), s.st)
			for _, p := range []string{good, "/api/v1/alarms/am_ack1"} {
				if r := s.do(t, "GET", p, "admin", ""); strings.Contains(string(r.Body), string(key)) {
					t.Fatalf("%s answered the key", p)
				}
			}
		})
	}
}

// readCase reads case id from the store.
func (s *server) readCase(t *testing.T, id string) alarm.Case {
	t.Helper()
	e, err := s.st.Get(context.Background(), wire.CaseKey(id))
	if err != nil {
		t.Fatal(err)
	}
	var c alarm.Case
	if err := json.Unmarshal(e.Value, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A link is a bearer credential without a Wharf token: one of an earlier
// step of its case shows that it moved on and nothing more (not the
// case's labels now), and the name of a Wharf user who acknowledged the
// case is not shown to a link holder. Answers are not cached.
func TestAckLinkShowsLittle(t *testing.T) {
	s := newServerOn(t, engines[0])
	c := firing("am_ack9", "shop", "Down")
	c.Step, c.StepKey = 2, "firing.2"
	c.Annotations = map[string]string{"summary": "db <b>down</b>"}
	s.putCase(t, c)
	old := s.link(t, "am_ack9", "firing.1", time.Now().Add(time.Hour))
	r := s.do(t, "GET", old, "", "")
	v := decode[alarms.AckView](t, r)
	if r.Status != 200 || v.CanAck || v.WhyNotAck == "" || v.Team != "" || len(v.Labels) != 0 || v.Summary != "" {
		t.Fatalf("an earlier step's link shows %s", r)
	}
	if cc := r.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	c.AckedBy, c.AckedAt = "alice@shop", time.Now().UTC()
	s.putCase(t, c)
	cur := s.link(t, "am_ack9", "firing.2", time.Now().Add(time.Hour))
	r = s.do(t, "GET", cur, "", "")
	if v := decode[alarms.AckView](t, r); r.Status != 200 || v.AckedBy == "" || strings.Contains(string(r.Body), "alice") {
		t.Fatalf("the link shows who acknowledged: %s", r)
	}
}
