package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testLogger discards logs unless WHARF_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("WHARF_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// testTopic returns a topic name unique to the test.
func testTopic(t testing.TB, suffix string) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 30 {
		name = name[len(name)-30:]
	}
	return strings.Trim(name, "-.") + "-" + suffix
}

func newTestProducer(t testing.TB, addrs ...string) *Producer {
	t.Helper()
	p, err := NewProducer(ProducerOptions{Addrs: addrs, PublishTimeout: 5 * time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// startConsumer creates and starts a consumer with fast retry settings and
// stops it at cleanup.
func startConsumer(t testing.TB, opts ConsumerOptions) *Consumer {
	t.Helper()
	if opts.RequeueDelay == 0 {
		opts.RequeueDelay = 10 * time.Millisecond
	}
	if opts.BackoffMultiplier == 0 {
		opts.BackoffMultiplier = 10 * time.Millisecond
	}
	if opts.MaxBackoffDuration == 0 {
		opts.MaxBackoffDuration = 50 * time.Millisecond
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	c, err := NewConsumer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// bodySet records message bodies seen by a handler.
type bodySet struct {
	mu   sync.Mutex
	seen map[string]int
}

func newBodySet() *bodySet { return &bodySet{seen: make(map[string]int)} }

func (s *bodySet) add(b []byte) {
	s.mu.Lock()
	s.seen[string(b)]++
	s.mu.Unlock()
}

func (s *bodySet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *bodySet) count(b string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[b]
}

func (s *bodySet) handler(context.Context, *Message) error { return nil }

// channelStats is the part of nsqd's /stats answer the tests read.
type channelStats struct {
	Depth         int64 `json:"depth"`
	InFlightCount int   `json:"in_flight_count"`
	DeferredCount int   `json:"deferred_count"`
	MessageCount  int64 `json:"message_count"`
}

// nsqdChannelStats asks nsqd's HTTP API about one channel.
func nsqdChannelStats(httpAddr, topic, channel string) (channelStats, error) {
	url := fmt.Sprintf("http://%s/stats?format=json&topic=%s&channel=%s", httpAddr, topic, channel)
	resp, err := http.Get(url)
	if err != nil {
		return channelStats{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return channelStats{}, err
	}
	var st struct {
		Topics []struct {
			Name     string `json:"topic_name"`
			Channels []struct {
				Name string `json:"channel_name"`
				channelStats
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return channelStats{}, fmt.Errorf("cannot decode %s: %w", b, err)
	}
	for _, tp := range st.Topics {
		for _, ch := range tp.Channels {
			if tp.Name == topic && ch.Name == channel {
				return ch.channelStats, nil
			}
		}
	}
	return channelStats{}, fmt.Errorf("no channel %s/%s in %s", topic, channel, b)
}
