package notify_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/monitoring/acklink"
	"github.com/wharfhq/wharf/monitoring/alarm"
	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/receiver"
	"github.com/wharfhq/wharf/runner/notify"
)

// With PublicURL, a template receiver reads the firing alert's link as
// {{.AckURL}}: a URL on PublicURL whose token, signed with the store's
// key, names the case and its step and expires after AckLinkTTL. The
// resolution carries none.
func TestAckLinkTemplateVariable(t *testing.T) {
	e := newEnv(t)
	h := newHook(t, 0)
	e.putReceiver(receiver.Receiver{Name: "chat", Team: "shop", Kind: receiver.KindTemplate, URL: h.srv.URL,
		Body: `{"status":"{{.Status}}","ack":"{{range .Alerts}}{{.AckURL}}{{end}}"}`})
	e.start("a", notify.Options{PublicURL: "https://wharf.example/", AckLinkTTL: time.Hour})
	at := time.Now().Unix() - 600
	problem, ok := judgeEvent(5, event.Problem, 1, at), judgeEvent(5, event.OK, 1, at+60)
	e.publishEvents(problem)
	waitDelivered(t, h, map[string]bool{receiver.IdempotencyKey(problem.ID, alarm.StepKey(problem), "chat"): true}, 30*time.Second)
	e.publishEvents(ok)
	waitDelivered(t, h, map[string]bool{receiver.IdempotencyKey(ok.ID, alarm.StepKey(ok), "chat"): true}, 30*time.Second)
	h.mu.Lock()
	defer h.mu.Unlock()
	var bodies []struct{ Status, Ack string }
	for _, b := range h.bodies {
		var v struct{ Status, Ack string }
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		bodies = append(bodies, v)
	}
	if len(bodies) != 2 || bodies[0].Status != "firing" || bodies[1].Status != "resolved" || bodies[1].Ack != "" {
		t.Fatalf("bodies %+v", bodies)
	}
	tok, found := strings.CutPrefix(bodies[0].Ack, "https://wharf.example"+wire.AckPath)
	if !found {
		t.Fatalf("link %q", bodies[0].Ack)
	}
	key, err := wire.LoadAckKey(context.Background(), e.st)
	if err != nil {
		t.Fatal(err)
	}
	c, err := acklink.Verify(key, tok, time.Now())
	if err != nil || c.Case != problem.ID || c.Step != alarm.StepKey(problem) || c.ExpiresAt().After(time.Now().Add(time.Hour+time.Minute)) {
		t.Fatalf("token: %+v %v", c, err)
	}
	if _, err := acklink.Verify(key, tok, time.Now().Add(2*time.Hour)); err == nil {
		t.Fatal("the link does not expire")
	}
}
