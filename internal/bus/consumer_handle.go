package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nsqio/go-nsq"
)

// deadLetterTimeout bounds publishing one dead letter.
const deadLetterTimeout = 5 * time.Second

// handle is the go-nsq handler: it runs the user's handler and answers the
// message itself (FIN, REQ or dead-letter then FIN). It always returns nil so
// go-nsq neither answers nor logs on its own.
func (c *Consumer) handle(nm *nsq.Message) error {
	nm.DisableAutoResponse()
	c.stats.inFlight.Add(1)

	m := &Message{
		ID:          string(nm.ID[:]),
		Body:        nm.Body,
		Attempts:    nm.Attempts,
		Timestamp:   time.Unix(0, nm.Timestamp),
		Topic:       c.opts.Topic,
		Channel:     c.opts.Channel,
		NSQDAddress: nm.NSQDAddress,
		msg:         nm,
	}
	err := c.call(m)
	m.mu.Lock()
	held := m.held != nil
	m.mu.Unlock()
	if err == nil && held {
		m.release(func(err error) {
			defer c.stats.inFlight.Add(-1)
			c.answer(nm, m, err)
		})
		return nil
	}
	defer c.stats.inFlight.Add(-1)
	c.answer(nm, m, err)
	return nil
}

// answer finishes nm when the handler's err is nil, otherwise requeues
// it, or dead-letters it once its attempts are used up.
func (c *Consumer) answer(nm *nsq.Message, m *Message, err error) {
	if err == nil {
		nm.Finish()
		inc(&c.stats.processed, c.stats.m.processed)
		return
	}
	inc(&c.stats.failed, c.stats.m.failed)

	if nm.Attempts >= c.opts.MaxAttempts && !errors.Is(err, ErrRetryLater) {
		dlErr := c.deadLetter(m, err)
		if dlErr == nil {
			nm.Finish()
			inc(&c.stats.dead, c.stats.m.dead)
			c.log.Warn("message dead-lettered", "id", m.ID, "attempts", m.Attempts, "err", err)
			return
		}
		c.log.Error("cannot dead-letter message, requeueing", "id", m.ID, "attempts", m.Attempts, "err", dlErr)
	} else {
		c.log.Debug("handler failed, requeueing", "id", m.ID, "attempts", m.Attempts, "err", err)
	}
	delay := min(max(c.opts.RequeueDelay, 0)*time.Duration(nm.Attempts), c.opts.MaxRequeueDelay)
	if c.opts.MaxBackoffDuration > 0 {
		nm.Requeue(delay)
	} else {
		nm.RequeueWithoutBackoff(delay)
	}
	inc(&c.stats.requeued, c.stats.m.requeued)
}

// call runs the handler with a deadline, turning a panic into an error.
func (c *Consumer) call(m *Message) (err error) {
	ctx, cancel := c.handlerContext()
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			inc(&c.stats.panics, c.stats.m.panics)
			c.log.Error("handler panicked", "id", m.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.opts.Handler(ctx, m)
}

func (c *Consumer) handlerContext() (context.Context, context.CancelFunc) {
	if c.opts.MsgTimeout > 0 {
		return context.WithTimeout(c.baseCtx, c.opts.MsgTimeout)
	}
	return context.WithCancel(c.baseCtx)
}

// deadLetter publishes m's envelope to the dead-letter topic.
func (c *Consumer) deadLetter(m *Message, cause error) error {
	body, err := DeadLetter{
		V:         deadLetterVersion,
		Topic:     m.Topic,
		Channel:   m.Channel,
		ID:        m.ID,
		Attempts:  m.Attempts,
		Error:     cause.Error(),
		Timestamp: m.Timestamp.UTC(),
		DeadAt:    time.Now().UTC(),
		NSQD:      m.NSQDAddress,
		Body:      m.Body,
	}.Encode()
	if err != nil {
		return err
	}
	p, err := c.deadLetterProducer(m.NSQDAddress)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadLetterTimeout)
	defer cancel()
	return p.Publish(ctx, DeadLetterTopic(m.Topic), body)
}

// deadLetterProducer returns opts.DeadLetter or a producer for the nsqd
// that delivered the message.
func (c *Consumer) deadLetterProducer(addr string) (*Producer, error) {
	if c.opts.DeadLetter != nil {
		return c.opts.DeadLetter, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dlProds == nil {
		return nil, fmt.Errorf("cannot dead-letter: %w", ErrClosed)
	}
	if p, ok := c.dlProds[addr]; ok {
		return p, nil
	}
	p, err := NewProducer(ProducerOptions{Addrs: []string{addr}, Security: c.opts.Security, Logger: c.opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("cannot create dead-letter producer: %w", err)
	}
	c.dlProds[addr] = p
	return p, nil
}
