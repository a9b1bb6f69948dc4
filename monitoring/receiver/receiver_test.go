package receiver

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

func TestCompileValidatesByField(t *testing.T) {
	t.Parallel()
	ok := []Receiver{
		{Name: "ops", Team: "shop", Kind: KindWebhook, URL: "https://chat.example/hook", Timeout: "5s", SecretRef: "ops-hmac", MaxAlerts: 10},
		{Name: "tpl", Team: "shop", Kind: KindTemplate, URL: "http://127.0.0.1:9/x", Body: `{"text": {{json .Status}}}`},
		{Name: "tail", Team: "shop", Kind: KindSSE, Matchers: []string{`priority=~"[0-2]"`}},
	}
	for _, r := range ok {
		if _, err := Compile(r); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
	bad := []struct {
		r      Receiver
		fields []string
	}{
		{Receiver{Kind: "mail"}, []string{"name", "team", "kind"}},
		{Receiver{Name: "a", Team: "t", Kind: KindWebhook}, []string{"url"}},
		{Receiver{Name: "a", Team: "t", Kind: KindWebhook, URL: "ftp://x", Timeout: "2m", MaxAlerts: -1, SecretRef: "a b"}, []string{"url", "timeout", "secret_ref", "max_alerts"}},
		{Receiver{Name: "a", Team: "t", Kind: KindWebhook, URL: "https://u:p@x/", Body: "x"}, []string{"url", "body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: "{{"}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: "{{range 100000000}}{{end}}"}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{define "x"}}{{range 5}}{{end}}{{end}}ok`}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{range (len (printf "%0999d" 0))}}{{end}}`}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{define "x"}}{{range .Alerts}}{{template "x" $}}{{end}}{{end}}{}`}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{range .Alerts}}{{range .Labels}}{{range $.Alerts}}{{end}}{{end}}{{end}}{}`}, []string{"body"}},
		// Integers, bare variables and dot are not ranged over (an integer range runs without output).
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{$n := 1000000000}}{{range $n}}{{range $n}}{{end}}{{end}}{}`}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{with 1000000000000}}{{range .}}{{end}}{{end}}{}`}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindTemplate, URL: "http://x/", Body: `{{range .TruncatedAlerts}}{{end}}{}`}, []string{"body"}},
		{Receiver{Name: "a", Team: "t", Kind: KindSSE, URL: "http://x/", Matchers: []string{"a=b", `c="`}}, []string{"url", "matchers[1]"}},
		{Receiver{Name: "a", Team: "t", Kind: KindSSE, StormLimit: 5}, []string{"storm_interval"}},
		{Receiver{Name: "a", Team: "t", Kind: KindSSE, StormLimit: -1, StormInterval: "x"}, []string{"storm_limit", "storm_interval"}},
	}
	for i, b := range bad {
		_, err := Compile(b.r)
		l, _ := err.(fielderr.List)
		var got []string
		for _, e := range l {
			got = append(got, e.Field)
		}
		if strings.Join(got, ",") != strings.Join(b.fields, ",") {
			t.Errorf("case %d: fields %v, want %v (%v)", i, got, b.fields, err)
		}
	}
	if (Receiver{}).Resolved() != true {
		t.Fatal("send_resolved defaults to true")
	}
	c, _ := Compile(ok[2])
	if !c.Matches("shop", labels.Set{"priority": "1"}) || c.Matches("ops", labels.Set{"priority": "1"}) || c.Matches("shop", labels.Set{"priority": "5"}) {
		t.Fatal("sse filter")
	}
}

func sampleCases(t *testing.T) []alarm.Case {
	t.Helper()
	mk := func(id, endpoint string, st event.Status, ts int64) alarm.Case {
		c, ch := alarm.Apply(alarm.Case{}, event.Event{ID: id, Status: event.Problem, CurrentStep: 1, EventTime: 1700000000,
			StrategyID: "42", Team: "shop", Endpoint: endpoint, Metric: "cpu.busy", Priority: 1, Note: "cpu busy", PushedTags: map[string]string{}})
		if len(ch) != 1 {
			t.Fatal("no open")
		}
		if st == event.OK {
			c, _ = alarm.Apply(c, event.Event{ID: id, Status: event.OK, CurrentStep: 1, EventTime: ts,
				StrategyID: "42", Team: "shop", Endpoint: endpoint, Metric: "cpu.busy", Priority: 1, PushedTags: map[string]string{}})
		}
		return c
	}
	return []alarm.Case{mk("s_42_a", "web-1", event.Problem, 0), mk("s_42_b", "web-2", event.OK, 1700000300)}
}

func TestWebhookV4Payload(t *testing.T) {
	t.Parallel()
	cs := sampleCases(t)
	alerts := []Alert{AlertOf(cs[0]), AlertOf(cs[1])}
	p := Build(`{}/{team="shop"}:{alertname="42"}`, "ops", labels.Set{"alertname": "42"}, "http://wharf.local:8080", alerts, 1)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"} {
		if _, ok := m[k]; !ok {
			t.Errorf("payload lacks %s: %s", k, b)
		}
	}
	if len(m) != 10 || m["version"] != "4" || m["status"] != "firing" || m["truncatedAlerts"] != float64(1) {
		t.Fatalf("payload %s", b)
	}
	al := m["alerts"].([]any)
	if len(al) != 1 {
		t.Fatalf("alerts %v", al)
	}
	a := al[0].(map[string]any)
	for _, k := range []string{"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"} {
		if _, ok := a[k]; !ok {
			t.Errorf("alert lacks %s", k)
		}
	}
	if len(a) != 7 || a["endsAt"] != "0001-01-01T00:00:00Z" || a["startsAt"] != "2023-11-14T22:13:20Z" || len(a["fingerprint"].(string)) != 16 {
		t.Fatalf("alert %v", a)
	}
	cl := m["commonLabels"].(map[string]any)
	if cl["team"] != "shop" || cl["endpoint"] != nil || cl["status"] != nil {
		t.Fatalf("common labels %v", cl)
	}
	if ca := m["commonAnnotations"].(map[string]any); len(ca) != 1 || ca["note"] != "cpu busy" {
		t.Fatalf("common annotations %v (both cases keep the strategy's note)", ca)
	}
	if p := Build("k", "r", nil, "", []Alert{AlertOf(cs[1])}, 0); p.Status != "resolved" || p.Alerts[0].EndsAt.Unix() != 1700000300 {
		t.Fatalf("resolved payload %+v", p)
	}
}

func TestTemplateBody(t *testing.T) {
	t.Parallel()
	tpl, err := ParseTemplate(`{"text": {{json (printf "%s: %d alerts for %s" .Status (len .Alerts) .CommonLabels.team)}}, "eps": [{{range $i, $a := .Alerts}}{{if $i}},{{end}}{{json $a.Labels.endpoint}}{{end}}]}`, "")
	if err != nil {
		t.Fatal(err)
	}
	cs := sampleCases(t)
	out, err := tpl.Render(Build("k", "r", nil, "", []Alert{AlertOf(cs[0]), AlertOf(cs[1])}, 0))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"text": "firing: 2 alerts for shop", "eps": ["web-1","web-2"]}` || tpl.ContentType() != "application/json" {
		t.Fatalf("rendered %s", out)
	}
	notJSON, _ := ParseTemplate(`{{.Status}}`, "")
	if _, err := notJSON.Render(Payload{Status: "firing"}); err == nil {
		t.Fatal("non-JSON body accepted for application/json")
	}
	plain, _ := ParseTemplate(`{{.Status}} {{upper .Receiver}}`, "text/plain")
	if out, err := plain.Render(Payload{Status: "firing", Receiver: "ops"}); err != nil || string(out) != "firing OPS" {
		t.Fatalf("plain: %s %v", out, err)
	}
	huge, err := ParseTemplate(`{{range .Alerts}}{{range $.Alerts}}{{end}}{{end}}{{printf "%0*d" 900000 0}}{{printf "%0*d" 900000 0}}`, "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := huge.Render(Payload{}); err == nil {
		t.Fatal("output cap not enforced")
	}
}

func TestIdempotencyKeyAndSignature(t *testing.T) {
	t.Parallel()
	k := IdempotencyKey("s_42_a", "PROBLEM.1.1700000000", "ops")
	if len(k) != 32 || k != IdempotencyKey("s_42_a", "PROBLEM.1.1700000000", "ops") {
		t.Fatalf("key %s", k)
	}
	for _, other := range []string{IdempotencyKey("s_42_a", "PROBLEM.2.1700000060", "ops"), IdempotencyKey("s_42_a", "PROBLEM.1.1700000000", "dev"), IdempotencyKey("s_42_aP", "ROBLEM.1.1700000000", "ops")} {
		if other == k {
			t.Fatal("different deliveries share a key")
		}
	}
	g1 := GroupIdempotencyKey("ops", []Step{{"a", "1"}, {"b", "2"}})
	g2 := GroupIdempotencyKey("ops", []Step{{"b", "2"}, {"a", "1"}})
	if g1 != g2 || g1 == GroupIdempotencyKey("dev", []Step{{"a", "1"}, {"b", "2"}}) || GroupIdempotencyKey("ops", []Step{{"a", "1"}}) != IdempotencyKey("a", "1", "ops") {
		t.Fatal("group keys")
	}
	secret, body := []byte("s3cret"), []byte(`{"version":"4"}`)
	now := time.Unix(1700000000, 0)
	h := Sign(secret, body, now)
	// HMAC-SHA256("s3cret", "1700000000.{\"version\":\"4\"}"), computed independently with openssl.
	if h != "t=1700000000,sha256=4ad5611474b88d0f2ec0edc9a45109dfea8d47053c7cceef28558cd85e3f6727" {
		t.Fatalf("header %s", h)
	}
	if err := Verify(secret, body, h, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		secret, body []byte
		header       string
		at           time.Time
	}{
		{[]byte("other"), body, h, now},
		{secret, []byte(`{"version":"3"}`), h, now},
		{secret, body, h, now.Add(time.Hour)},
		{secret, body, "sha256=abc", now},
		{secret, body, "", now},
	} {
		if Verify(c.secret, c.body, c.header, c.at, 5*time.Minute) == nil {
			t.Errorf("verified %q", c.header)
		}
	}
}
