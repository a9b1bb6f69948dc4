package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	alarmwire "github.com/wharfhq/wharf/functions/alarms/wire"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// TestAckLinkThroughServe: with notify.public_url set, the firing message
// a team's webhook gets carries an acknowledgement link (annotation
// ack_url and the alert's ackURL) on the gateway. Anybody holding it —
// no Wharf token — sees the alarm (JSON, or a page in a browser) and
// acknowledges it with a POST; `wharf alarms show` says acknowledged by
// link, the alarm stream's event of the change carries the link too, and
// a link with one character changed is a 403. Without public_url
// messages carry no link (TestServeNotifiesWebhook's payloads).
func TestAckLinkThroughServe(t *testing.T) {
	t.Parallel()
	hook := newHookRecorder(t)
	dir := t.TempDir()
	gwAddr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	args := append(serveArgs(t), "--agent-local=false", allowLoopbackReceivers, "--notify-public-url", "http://"+gwAddr+"/")
	for i, a := range args {
		if a == "--gateway-listen" {
			args[i+1] = gwAddr
		}
	}
	p := startWharf(t, dir, nil, args...)
	gw := p.waitFor(reGateway, 30*time.Second)[1]
	admin := p.waitFor(reToken, 5*time.Second)[1]
	adm := cli{t: t, dir: dir, env: []string{"WHARF_SERVER=" + gw, "WHARF_TOKEN=" + admin}}
	adm.ok("receiver", "put", "oncall", "--team", "shop", "-f", writeFile(t, "oncall.json", fmt.Sprintf(`{"kind":"webhook","url":%q}`, hook.srv.URL+"/oncall")))
	adm.ok("strategy", "create", "-f", writeFile(t, "s.json",
		`{"id": "disk-full", "team": "shop", "metric": "disk.used", "tags": {"app": "shop"}, "func": "all(#1)", "operator": ">", "right_value": 90, "max_step": 1, "priority": 1}`))
	adm.ok("metrics", "push", "--endpoint", "db-1", "--metric", "disk.used", "--value", "95", "--tags", "app=shop", "--timestamp", strconv.FormatInt(time.Now().Unix()/60*60, 10))

	var link string
	testenv.Eventually(t, 30*time.Second, func() error {
		calls := hook.to("/oncall")
		if len(calls) == 0 {
			return fmt.Errorf("no message yet")
		}
		a := calls[0].p.Alerts[0]
		link = a.Annotations["ack_url"]
		if a.Status != "firing" || link == "" || a.AckURL != link || !strings.HasPrefix(link, "http://"+gwAddr+alarmwire.AckPath) {
			return fmt.Errorf("firing alert without its link: %+v", a)
		}
		return nil
	})
	if strings.Contains(hook.to("/oncall")[0].p.Alerts[0].Annotations["ack_url"], admin) {
		t.Fatal("the link carries the admin token")
	}

	// Anybody with the link: no token.
	view := call(t, "GET", link, "", nil)
	if view.status != 200 || view.body["can_ack"] != true || view.body["team"] != "shop" || view.body["status"] != "firing" {
		t.Fatalf("GET link: %d %s", view.status, view.raw)
	}
	id := view.body["case"].(string)
	req, _ := http.NewRequest("GET", link, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<button") || !strings.Contains(string(page), "db-1") {
		t.Fatalf("page: %d %s", resp.StatusCode, page)
	}

	// The stream (admin) sees the acknowledgement, with the link.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sreq, _ := http.NewRequestWithContext(ctx, "GET", gw+"/api/v1/alarms/stream", nil)
	sreq.Header.Set("Authorization", "Bearer "+admin)
	sresp, err := http.DefaultClient.Do(sreq)
	if err != nil {
		t.Fatal(err)
	}
	defer sresp.Body.Close()
	if sresp.StatusCode != 200 {
		t.Fatalf("stream: %d", sresp.StatusCode)
	}
	streamed := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(sresp.Body)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			var c map[string]any
			if ok && json.Unmarshal([]byte(data), &c) == nil && c["acked_by"] == "link" {
				streamed <- c
				return
			}
		}
	}()

	// A character inside the signature (every bit of it is signature; the
	// last character's low bits are unused).
	i := len(link) - 5
	bad := link[:i] + map[bool]string{true: "B", false: "A"}[link[i] == 'A'] + link[i+1:]
	if r := call(t, "POST", bad, "", nil); r.status != 403 || r.body["error"] == nil {
		t.Fatalf("altered link: %d %s", r.status, r.raw)
	}
	for range 2 {
		if r := call(t, "POST", link, "", nil); r.status != 200 || r.body["acked_by"] != "link" {
			t.Fatalf("POST link: %d %s", r.status, r.raw)
		}
	}
	var c alarm.Case
	if err := json.Unmarshal([]byte(adm.ok("alarms", "show", id, "-o", "json")), &c); err != nil || c.AckedBy != "link" {
		t.Fatalf("alarms show: %v %+v", err, c)
	}
	wantLines(t, "show", adm.ok("alarms", "show", id), "acked", "link")
	select {
	case ev := <-streamed:
		if ev["ack_url"] == nil || !strings.HasPrefix(ev["ack_url"].(string), "http://"+gwAddr+alarmwire.AckPath) {
			t.Fatalf("stream event without its link: %v", ev)
		}
	case <-ctx.Done():
		t.Fatal("the stream did not show the acknowledgement")
	}
	var v alarms.AckView
	if r := call(t, "GET", link, "", nil); r.status != 200 || json.Unmarshal([]byte(r.raw), &v) != nil || v.CanAck || v.AckedBy != "link" {
		t.Fatalf("GET after the ack: %d %s", r.status, r.raw)
	}
}
