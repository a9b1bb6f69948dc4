package bus

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/buntdb"
	"github.com/wharfhq/wharf/internal/testenv"
)

func newTestOutbox(t testing.TB, path string, p *Producer) *Outbox {
	t.Helper()
	o, err := NewOutbox(OutboxOptions{
		Path: path, Producer: p, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		PublishTimeout: 2 * time.Second, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

// TestOutboxSurvivesNSQDRestart publishes 10,000 messages through the outbox
// while nsqd is stopped for part of the run, and checks every one arrives.
func TestOutboxSurvivesNSQDRestart(t *testing.T) {
	const total, stopAt, startAt = 10000, 3000, 7000
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "ob")
	p, err := NewProducer(ProducerOptions{Addrs: []string{n.Addr}, DialTimeout: 200 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	o := newTestOutbox(t, filepath.Join(t.TempDir(), "outbox.db"), p)

	seen := newBodySet()
	c := startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr}, MaxInFlight: 256, Concurrency: 4,
		Handler: func(ctx context.Context, m *Message) error { seen.add(m.Body); return nil },
	})

	ctx := context.Background()
	for i := range total {
		switch i {
		case stopAt:
			n.Stop()
		case startAt:
			if got := o.Pending(); got < startAt-stopAt {
				t.Fatalf("%d pending while nsqd was down, want >= %d", got, startAt-stopAt)
			}
			n.Start()
		}
		if err := o.Enqueue(ctx, topic, []byte("msg-"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := o.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if got := seen.len(); got != total {
			return fmt.Errorf("%d of %d distinct messages consumed (stats %+v)", got, total, c.Stats())
		}
		return nil
	})
	for i := range total {
		if seen.count("msg-"+strconv.Itoa(i)) == 0 {
			t.Fatalf("msg-%d lost", i)
		}
	}
}

func TestOutboxKeepsMessagesAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	// Port 1: nothing listens there. (A free port picked at random can
	// be taken meanwhile by another package's nsqd: the "dead" outbox
	// then delivered its messages, in one CI run.)
	dead := deadNSQD
	o1 := newTestOutbox(t, path, newTestProducer(t, dead))
	topic := testTopic(t, "reopen")
	for i := range 5 {
		if err := o1.Enqueue(context.Background(), topic, []byte{byte(i), 0, 'x'}); err != nil {
			t.Fatal(err)
		}
	}
	if got := o1.Pending(); got != 5 {
		t.Fatalf("pending %d, want 5", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := o1.Flush(ctx); err == nil {
		t.Fatal("flush succeeded with nsqd down")
	}
	if err := o1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o1.Enqueue(context.Background(), topic, []byte("x")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("enqueue after close: %v", err)
	}

	n := testenv.StartNSQD(t)
	seen := newBodySet()
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr},
		Handler: func(ctx context.Context, m *Message) error { seen.add(m.Body); return nil },
	})
	o2 := newTestOutbox(t, path, newTestProducer(t, n.Addr))
	if got := o2.Pending(); got != 5 {
		t.Fatalf("reopened outbox has %d pending, want 5", got)
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer fcancel()
	if err := o2.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	// New keys continue the sequence after the old ones.
	if err := o2.Enqueue(context.Background(), topic, []byte("late")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if seen.len() != 6 {
			return fmt.Errorf("%d of 6 consumed", seen.len())
		}
		return nil
	})
	if seen.count(string([]byte{3, 0, 'x'})) == 0 {
		t.Fatal("binary body mangled")
	}
}

func TestOutboxRejectsBadInput(t *testing.T) {
	o := newTestOutbox(t, ":memory:", newTestProducer(t, "127.0.0.1:1"))
	if err := o.Enqueue(context.Background(), "bad topic", nil); err == nil || !strings.Contains(err.Error(), "invalid topic name") {
		t.Fatalf("bad topic: %v", err)
	}
	if err := o.Enqueue(context.Background(), "t", make([]byte, 2<<20)); err == nil {
		t.Fatal("accepted a 2 MiB body")
	}
	if err := o.Enqueue(context.Background(), "t", nil); err == nil || !strings.Contains(err.Error(), "empty body") {
		t.Fatalf("empty body: %v", err)
	}
	if o.Pending() != 0 {
		t.Fatalf("pending %d", o.Pending())
	}
}

func TestOutboxMovesRejectedMessageAside(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "rej")
	o, err := NewOutbox(OutboxOptions{
		Path: ":memory:", Producer: newTestProducer(t, n.Addr), MaxMessageSize: 4 << 20,
		BatchBytes: 4 << 20, MinBackoff: 10 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	seen := newBodySet()
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr},
		Handler: func(ctx context.Context, m *Message) error { seen.add(m.Body); return nil },
	})
	// nsqd's --max-msg-size is 1 MiB: the middle message can never be published.
	for _, b := range [][]byte{[]byte("before"), make([]byte, 3<<19), []byte("after")} {
		if err := o.Enqueue(context.Background(), topic, b); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if seen.count("before") == 0 || seen.count("after") == 0 {
			return fmt.Errorf("seen %d", seen.len())
		}
		return nil
	})
	var rejected int
	if err := o.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendKeys("rejected:*", func(k, v string) bool { rejected++; return true })
	}); err != nil {
		t.Fatal(err)
	}
	if rejected != 1 {
		t.Fatalf("%d rejected entries kept, want 1", rejected)
	}
}

func TestOutboxKeyOrder(t *testing.T) {
	prev := ""
	for _, s := range []uint64{1, 2, 9, 10, 99, 100, 1 << 40, 1<<64 - 1} {
		k := outboxKey(s)
		if len(k) != len(outboxKeyPrefix)+20 || k <= prev || k >= outboxKeyEnd {
			t.Fatalf("key %q for %d out of order after %q", k, s, prev)
		}
		prev = k
	}
}

// deadNSQD is an address nothing listens on.
const deadNSQD = "127.0.0.1:1"
