package main

import (
	"encoding/json"
	"fmt"
	"log"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nsqio/go-nsq"
	"github.com/valyala/fasthttp"
)

// The marker series: one new series per marker point (tag m=<run>.<n>), so
// that every marker point is a first point and the marker strategy
// (all(#1) > 0 on markerMetric) answers it with one PROBLEM event, whatever
// the re-send rules.
const (
	markerEndpoint = "bench-marker"
	markerMetric   = "bench.marker"
)

// markers pushes marker points and times their alarm events.
type markers struct {
	mu    sync.Mutex
	sent  map[string]time.Time // tag m → when its push was sent
	lat   []time.Duration      // send → event, one per marker seen
	extra int                  // events of markers seen twice (NSQ is at least once)
	all   chan struct{}        // closed when every sent marker was seen after closeSend
	done  bool
	cons  *nsq.Consumer
}

// consumeAlarms subscribes to the alarms topic on nsqd (tcp address) on an
// ephemeral channel before any marker is sent.
func consumeAlarms(nsqdTCP, topic string) (*markers, error) {
	m := &markers{sent: map[string]time.Time{}, all: make(chan struct{})}
	cfg := nsq.NewConfig()
	cfg.MaxInFlight = 256
	c, err := nsq.NewConsumer(topic, fmt.Sprintf("bench%d#ephemeral", time.Now().UnixNano()%1e9), cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot consume %s: %w", topic, err)
	}
	c.SetLogger(log.New(discard{}, "", 0), nsq.LogLevelError)
	c.AddHandler(nsq.HandlerFunc(m.handle))
	if err := c.ConnectToNSQD(nsqdTCP); err != nil {
		return nil, fmt.Errorf("cannot connect to nsqd %s: %w", nsqdTCP, err)
	}
	m.cons = c
	return m, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// handle takes one alarm event (schema v1: monitoring/event) and, when it is
// a marker's PROBLEM, records its latency.
func (m *markers) handle(msg *nsq.Message) error {
	now := time.Now()
	var ev struct {
		Status     string            `json:"status"`
		Metric     string            `json:"metric"`
		PushedTags map[string]string `json:"pushed_tags"`
	}
	if err := json.Unmarshal(msg.Body, &ev); err != nil || ev.Metric != markerMetric || ev.Status != "PROBLEM" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.sent[ev.PushedTags["m"]]
	if !ok {
		m.extra++
		return nil
	}
	delete(m.sent, ev.PushedTags["m"])
	m.lat = append(m.lat, now.Sub(t))
	m.checkAll()
	return nil
}

// checkAll closes all once sending ended and nothing is outstanding (mu held).
func (m *markers) checkAll() {
	if m.done && len(m.sent) == 0 {
		select {
		case <-m.all:
		default:
			close(m.all)
		}
	}
}

// send pushes marker points through the gateway every interval until stop
// is closed. Each is its own one-item push; its time is taken just before
// the request is written. A refused push is not a marker.
func (m *markers) send(url, token, run string, every time.Duration, stop <-chan struct{}) {
	c := &fasthttp.Client{}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		tag := run + "." + strconv.Itoa(n)
		now := time.Now()
		body := fmt.Appendf(nil, `[{"endpoint":%q,"metric":%q,"timestamp":%d,"step":%d,"value":1,"counterType":"GAUGE","tags":"m=%s"}]`,
			markerEndpoint, markerMetric, now.Unix(), step, tag)
		m.mu.Lock()
		m.sent[tag] = now
		m.mu.Unlock()
		if code, _, err := post(c, url, token, "application/json", body, 30*time.Second); err != nil || code != fasthttp.StatusOK {
			m.mu.Lock()
			delete(m.sent, tag)
			m.mu.Unlock()
		}
	}
}

// wait ends sending and waits until every marker's event arrived or
// timeout; it returns the latencies (sorted) and how many had not arrived.
func (m *markers) wait(timeout time.Duration) (lat []time.Duration, late int) {
	m.mu.Lock()
	m.done = true
	m.checkAll()
	m.mu.Unlock()
	select {
	case <-m.all:
	case <-time.After(timeout):
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	lat = slices.Clone(m.lat)
	slices.Sort(lat)
	return lat, len(m.sent)
}

// Stop disconnects the consumer.
func (m *markers) Stop() {
	m.cons.Stop()
	<-m.cons.StopChan
}
