package alarms_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/alarms"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/alarm"
)

// sse is one event of a stream.
type sse struct{ id, event, data string }

// openStream sends GET /api/v1/alarms/stream over raw TCP and returns the
// status line and the stream's events and comments (comments as event
// ":").
func openStream(t *testing.T, s *server, who, query, lastID string) (string, <-chan sse, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	req := "GET /api/v1/alarms/stream" + query + " HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n"
	if who != "" {
		req += "Authorization: Bearer " + s.tokens[who] + "\r\n"
	}
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	if _, err := fmt.Fprint(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for { // headers
		l, err := br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
	}
	out := make(chan sse, 100)
	go func() {
		defer close(out)
		var cur sse
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimRight(l, "\r\n")
			switch {
			case strings.HasPrefix(l, ": "):
				out <- sse{event: ":", data: l[2:]}
			case strings.HasPrefix(l, "id: "):
				cur.id = l[4:]
			case strings.HasPrefix(l, "event: "):
				cur.event = l[7:]
			case strings.HasPrefix(l, "data: "):
				cur.data = l[6:]
			case l == "" && cur.event != "":
				out <- cur
				cur = sse{}
			}
		}
	}()
	return status, out, c
}

// next returns the next event that is not a comment.
func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	for e := range ch {
		if e.event != ":" {
			return e
		}
	}
	t.Fatal("stream ended")
	return sse{}
}

// TestStreamFiltersAndResumes: a team's stream carries its cases that
// match (not another team's), a resumed stream carries what came after
// the Last-Event-ID and nothing before; idle streams get heartbeats.
func TestStreamFiltersAndResumes(t *testing.T) {
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { testStreamFiltersAndResumes(t, engine) })
	}
}

func testStreamFiltersAndResumes(t *testing.T, engine string) {
	s := newServerOn(t, engine, func(o *alarms.Options) { o.HeartbeatInterval = 50 * time.Millisecond })
	if status, _, _ := openStream(t, s, "", "", ""); !strings.Contains(status, "401") {
		t.Fatalf("no token: %s", status)
	}
	if status, _, _ := openStream(t, s, "agent", "", ""); !strings.Contains(status, "403") {
		t.Fatalf("agent: %s", status)
	}
	if status, _, _ := openStream(t, s, "ingest", "", ""); !strings.Contains(status, "403") {
		t.Fatalf("ingest: %s", status)
	}
	if status, _, _ := openStream(t, s, "team", "?match=%7Bbad", ""); !strings.Contains(status, "400") {
		t.Fatalf("bad match: %s", status)
	}
	if status, _, _ := openStream(t, s, "team", "", "x"); !strings.Contains(status, "400") {
		t.Fatalf("bad Last-Event-ID: %s", status)
	}
	status, ch, conn := openStream(t, s, "team", "?match=priority%3D~%22%5B0-2%5D%22", "")
	if !strings.Contains(status, "200") {
		t.Fatalf("open: %s", status)
	}
	if e := <-ch; e.event != ":" {
		t.Fatalf("first line: %+v", e)
	}
	_, bank, _ := openStream(t, s, "other", "", "")
	if e := <-bank; e.event != ":" {
		t.Fatalf("bank's first line: %+v", e)
	}
	s.putCase(t, firing("am_00000000000000e1", "bank", "cpu"))
	low := firing("am_00000000000000e2", "shop", "low")
	low.Labels["priority"] = "5"
	s.putCase(t, low)
	s.putCase(t, firing("am_00000000000000e3", "shop", "cpu"))
	e := next(t, ch)
	var c alarm.Case
	if err := json.Unmarshal([]byte(e.data), &c); err != nil || e.event != "case" || c.ID != "am_00000000000000e3" || e.id == "" || len(c.History) != 0 {
		t.Fatalf("event: %+v %v", e, err)
	}
	// Bank's stream carries bank's case only (shop's came after it).
	if e := next(t, bank); !strings.Contains(e.data, "am_00000000000000e1") {
		t.Fatalf("bank's stream: %+v", e)
	}
	select {
	case e := <-bank:
		if e.event != ":" {
			t.Fatalf("bank's stream carries more: %+v", e)
		}
	default:
	}
	beats := 0
	for ev := range ch {
		if ev.event == ":" && ev.data == "heartbeat" {
			if beats++; beats == 2 {
				break
			}
		}
	}
	_ = conn.Close()
	s.putCase(t, firing("am_00000000000000e4", "shop", "disk"))
	_, ch, _ = openStream(t, s, "team", "", e.id)
	if e := next(t, ch); !strings.Contains(e.data, "am_00000000000000e4") {
		t.Fatalf("resumed: %+v", e)
	}
}

// TestStreamResetWhenTooFarBack: resuming from a revision the store no
// longer keeps sends "event: reset", then the changes from the present.
func TestStreamResetWhenTooFarBack(t *testing.T) {
	s := newServerOn(t, "redis-short-log")
	s.putCase(t, firing("am_0000000000000100", "shop", "first"))
	for i := range 300 {
		s.putCase(t, firing(fmt.Sprintf("am_%016x", 0x200+i), "bank", "noise"))
	}
	status, ch, _ := openStream(t, s, "team", "", "1")
	if !strings.Contains(status, "200") {
		t.Fatalf("open: %s", status)
	}
	if e := next(t, ch); e.event != "reset" {
		t.Fatalf("want reset, got %+v", e)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		s.putCase(t, firing("am_0000000000000101", "shop", "after"))
		select {
		case e := <-ch:
			if e.event == "case" && strings.Contains(e.data, "am_0000000000000101") {
				return nil
			}
			return fmt.Errorf("got %+v", e)
		case <-time.After(200 * time.Millisecond):
			return fmt.Errorf("nothing yet")
		}
	})
}
