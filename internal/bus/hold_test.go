package bus

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/testenv"
)

// A held message is answered by its held function: after the handler
// returned (finished: never delivered again; an error: delivered again)
// or before it returned (answered once it returns).
func TestHeldMessagesAreAnsweredLater(t *testing.T) {
	n := testenv.StartNSQD(t)
	topic := testTopic(t, "hold")
	p := newTestProducer(t, n.Addr)
	if err := p.MultiPublish(context.Background(), topic, [][]byte{[]byte("later"), []byte("early"), []byte("retry")}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var held []func(error)
	c := startConsumer(t, ConsumerOptions{
		Topic: topic, Channel: "c", NSQDAddrs: []string{n.Addr}, MaxInFlight: 8, RequeueDelay: -1,
		Handler: func(_ context.Context, m *Message) error {
			mu.Lock()
			defer mu.Unlock()
			body := string(m.Body)
			seen[body]++
			done := m.Hold()
			switch {
			case body == "early":
				done(nil) // answered before the handler returns
			case body == "retry" && seen[body] == 1:
				held = append(held, func(error) { done(errors.New("not durable")) })
			default:
				held = append(held, done)
			}
			return nil
		},
	})
	testenv.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(held) < 2 {
			return fmt.Errorf("%d messages held", len(held))
		}
		return nil
	})
	if st := c.Stats(); st.InFlight != 2 || st.Processed != 1 {
		t.Fatalf("with two held: in flight %d, processed %d; want 2 and 1 (the early answer)", st.InFlight, st.Processed)
	}
	mu.Lock()
	for _, done := range held {
		done(nil)
		done(nil) // a second call answers nothing
	}
	held = nil
	mu.Unlock()
	testenv.Eventually(t, 15*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if seen["retry"] < 2 || len(held) < 1 {
			return fmt.Errorf("retry seen %d times", seen["retry"])
		}
		return nil
	})
	mu.Lock()
	held[0](nil)
	mu.Unlock()
	testenv.Eventually(t, 15*time.Second, func() error {
		if st := c.Stats(); st.InFlight != 0 || st.Processed != 3 || st.Requeued != 1 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if seen["later"] != 1 || seen["early"] != 1 || seen["retry"] != 2 {
		t.Fatalf("deliveries %v; want later 1, early 1, retry 2", seen)
	}
}
