package bus

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

func TestProducerDeadAddressFailsFast(t *testing.T) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))
	p := newTestProducer(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := p.Publish(ctx, "t", []byte("x"))
	if err == nil {
		t.Fatal("publish to a dead address succeeded")
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("took %v", time.Since(start))
	}
	if !strings.Contains(err.Error(), "cannot publish to t") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("unclear error: %v", err)
	}
	if err := p.Ping(ctx); err == nil || !strings.Contains(err.Error(), "cannot ping nsqd") {
		t.Fatalf("ping: %v", err)
	}
}

func TestProducerSilentServerHonoursDeadline(t *testing.T) {
	// A server that accepts and never answers: go-nsq would wait for its
	// read timeout; Publish must give up when ctx does.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p, err := NewProducer(ProducerOptions{Addrs: []string{l.Addr().String()}, CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Publish(ctx, "t", []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("publish took %v with a 300ms deadline", d)
	}
	start = time.Now()
	_ = p.Close() // may report the stuck connection attempt; must not hang
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("close took %v", d)
	}
}

func TestProducerFailsOver(t *testing.T) {
	n := testenv.StartNSQD(t)
	// Port 1: nothing listens there. (A free port picked at random can
	// be taken meanwhile by another package's nsqd: the "dead" outbox
	// then delivered its messages, in one CI run.)
	dead := deadNSQD
	p := newTestProducer(t, dead, n.Addr)
	topic := testTopic(t, "fo")
	for range 3 {
		if err := p.Publish(context.Background(), topic, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("ping with one live nsqd: %v", err)
	}
	if err := p.Publish(context.Background(), "bad topic", nil); err == nil || !strings.Contains(err.Error(), "invalid topic name") {
		t.Fatalf("bad topic: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), topic, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}
