package bus

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

func startEmbedded(t *testing.T, dir string) *Embedded {
	t.Helper()
	e, err := NewEmbedded(EmbeddedOptions{DataDir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestEmbeddedTwoInstancesPublishConsume(t *testing.T) {
	a := startEmbedded(t, t.TempDir())
	b := startEmbedded(t, t.TempDir())
	if a.TCPAddr() == b.TCPAddr() || a.HTTPAddr() == b.HTTPAddr() {
		t.Fatalf("instances share an address: %s %s / %s %s", a.TCPAddr(), a.HTTPAddr(), b.TCPAddr(), b.HTTPAddr())
	}
	topic := testTopic(t, "emb")
	seenA, seenB := newBodySet(), newBodySet()
	for _, x := range []struct {
		e    *Embedded
		seen *bodySet
		body string
	}{{a, seenA, "to-a"}, {b, seenB, "to-b"}} {
		p := newTestProducer(t, x.e.TCPAddr())
		if err := p.Publish(context.Background(), topic, []byte(x.body)); err != nil {
			t.Fatal(err)
		}
		seen := x.seen
		startConsumer(t, ConsumerOptions{
			Topic: topic, Channel: "c", NSQDAddrs: []string{x.e.TCPAddr()},
			Handler: func(ctx context.Context, m *Message) error { seen.add(m.Body); return nil },
		})
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if seenA.count("to-a") == 0 || seenB.count("to-b") == 0 {
			return errors.New("messages not consumed yet")
		}
		return nil
	})
	if seenA.len() != 1 || seenB.len() != 1 {
		t.Fatalf("messages crossed instances: a=%v b=%v", seenA.seen, seenB.seen)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// b keeps working after a exited.
	p := newTestProducer(t, b.TCPAddr())
	if err := p.Publish(context.Background(), topic, []byte("again")); err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedKeepsMessagesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := startEmbedded(t, dir)
	topic := testTopic(t, "persist")
	p, err := NewProducer(ProducerOptions{Addrs: []string{e.TCPAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	// A channel must exist for nsqd to keep the messages for it.
	c, err := NewConsumer(ConsumerOptions{Topic: topic, Channel: "c", NSQDAddrs: []string{e.TCPAddr()},
		Handler: func(context.Context, *Message) error { return errors.New("not now") }, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := p.Publish(context.Background(), topic, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	_ = p.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e2 := startEmbedded(t, dir)
	seen := newBodySet()
	startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{e2.TCPAddr()},
		Handler: func(ctx context.Context, m *Message) error { seen.add(m.Body); return nil },
	})
	testenv.Eventually(t, 10*time.Second, func() error {
		if seen.len() != 3 {
			return fmt.Errorf("%d of 3 persisted messages consumed", seen.len())
		}
		return nil
	})
}

func TestEmbeddedRejectsLockedDataDir(t *testing.T) {
	dir := t.TempDir()
	startEmbedded(t, dir)
	e, err := NewEmbedded(EmbeddedOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err == nil {
		_ = e.Close()
		t.Fatal("second nsqd on the same data dir started")
	}
}
