package bus

import (
	"sync"
	"time"

	"github.com/nsqio/go-nsq"
)

// Message is one delivery handed to a Consumer's Handler. Body must not be
// kept after the handler returns unless copied.
type Message struct {
	// ID is nsqd's message id.
	ID string
	// Body is the published payload.
	Body []byte
	// Attempts counts deliveries, this one included (1 on first delivery).
	Attempts uint16
	// Timestamp is when nsqd first received the message.
	Timestamp time.Time
	// Topic and Channel the message came from.
	Topic, Channel string
	// NSQDAddress is the nsqd that delivered it.
	NSQDAddress string

	msg *nsq.Message
	// mu guards the held answer (Hold): held is the function Hold
	// returned, answer is set once the handler returned, early keeps a
	// result given before that, and done says it was given.
	mu     sync.Mutex
	held   func(error)
	answer func(error)
	early  *error
	done   bool
}

// Hold keeps the message unanswered when the handler returns nil and
// returns the function that answers it later, exactly as the consumer
// would have answered the handler's result: nil finishes it, an error
// requeues or dead-letters it. A consumer whose handler batches work
// across messages (and makes it durable once per batch) holds each
// message until the batch is durable. A held message still counts against
// MaxInFlight and must be answered within MsgTimeout (or touched), or
// nsqd delivers it again. The function may be called before the handler
// returns (the message is answered when it returns); calling it more than
// once answers once. When the handler returns an error the message is
// answered with it at once and the held function does nothing.
func (m *Message) Hold() func(error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held == nil {
		m.held = func(err error) {
			m.mu.Lock()
			if m.done {
				m.mu.Unlock()
				return
			}
			if m.answer == nil { // the handler is still running
				m.early, m.done = &err, true
				m.mu.Unlock()
				return
			}
			m.done = true
			answer := m.answer
			m.mu.Unlock()
			answer(err)
		}
	}
	return m.held
}

// release is called by the consumer after a handler that held m returned
// nil: it answers m now when the held function was already called, and
// otherwise leaves that to the held function.
func (m *Message) release(answer func(error)) {
	m.mu.Lock()
	if m.early != nil {
		err := *m.early
		m.mu.Unlock()
		answer(err)
		return
	}
	m.answer = answer
	m.mu.Unlock()
}

// Touch tells nsqd the handler is still working, resetting the message's
// timeout (nsqd's --msg-timeout or ConsumerOptions.MsgTimeout).
func (m *Message) Touch() {
	if m.msg != nil {
		m.msg.Touch()
	}
}
