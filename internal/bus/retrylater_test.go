package bus

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// A handler that answers ErrRetryLater past MaxAttempts keeps the message:
// it is requeued, never dead-lettered, and handled once it can be.
func TestConsumerRetryLaterIsNeverDeadLettered(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "later")
	p := newTestProducer(t, n.Addr)
	var calls, done atomic.Int64
	c := startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "work", NSQDAddrs: []string{n.Addr}, MaxAttempts: 2,
		RequeueDelay: -1, MaxBackoffDuration: -1,
		Handler: func(ctx context.Context, m *Message) error {
			if calls.Add(1) <= 6 {
				return fmt.Errorf("cannot write: disk full: %w", ErrRetryLater)
			}
			done.Add(1)
			return nil
		},
	})
	if err := p.Publish(context.Background(), topic, []byte("point")); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 15*time.Second, func() error {
		if done.Load() != 1 {
			return fmt.Errorf("%d calls, done %d", calls.Load(), done.Load())
		}
		return nil
	})
	st := c.Stats()
	if st.DeadLettered != 0 || st.Processed != 1 || st.Requeued != 6 {
		t.Fatalf("stats %+v", st)
	}
}
