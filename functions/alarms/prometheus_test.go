package alarms_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/fntest"
	"github.com/wharfhq/wharf/internal/testenv"
)

// TestPrometheusPostsAlerts: Debian's Prometheus, unmodified, with Wharf
// as its alertmanager (API v2, a team token as its credentials): its
// firing rule arrives as a wire.Posted on alarms.posted, the team label
// forced to the token's team, with the rule's labels, annotations,
// startsAt, endsAt and generatorURL.
func TestPrometheusPostsAlerts(t *testing.T) {
	s := newServer(t)
	got := fntest.Consume(t, s.nsqd.Addr, wire.PostedTopic)
	testenv.StartPrometheus(t, testenv.PrometheusOptions{Alertmanager: s.addr, AlertmanagerToken: s.tokens["team"],
		Rules: "groups:\n  - name: wharf\n    rules:\n      - alert: AlwaysFiring\n        expr: vector(1)\n" +
			"        labels: {severity: page, team: bank}\n        annotations: {summary: \"it fires\"}\n"})
	select {
	case b := <-got:
		var p wire.Posted
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Alerts) != 1 || p.By != "team" || p.Team != "shop" {
			t.Fatalf("posted: %s", b)
		}
		a := p.Alerts[0]
		if a.Labels["alertname"] != "AlwaysFiring" || a.Labels["severity"] != "page" || a.Labels["team"] != "shop" ||
			a.Annotations["summary"] != "it fires" || a.StartsAt.IsZero() || !a.EndsAt.After(a.StartsAt) || a.GeneratorURL == "" {
			t.Fatalf("alert: %s", b)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Prometheus posted nothing in 60s")
	}
}
