package bus

import (
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
}

// Touch tells nsqd the handler is still working, resetting the message's
// timeout (nsqd's --msg-timeout or ConsumerOptions.MsgTimeout).
func (m *Message) Touch() {
	if m.msg != nil {
		m.msg.Touch()
	}
}
