package bus

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// deadLetterVersion is the envelope version written in DeadLetter.V.
const deadLetterVersion = 1

// DeadLetter is the JSON envelope a Consumer publishes to "<topic>.dead"
// for a message that failed MaxAttempts times. Body is the original body
// (base64 in JSON).
type DeadLetter struct {
	V         int       `json:"v"`
	Topic     string    `json:"topic"`
	Channel   string    `json:"channel"`
	ID        string    `json:"id"`
	Attempts  uint16    `json:"attempts"`
	Error     string    `json:"error"`
	Timestamp time.Time `json:"timestamp"`
	DeadAt    time.Time `json:"dead_at"`
	NSQD      string    `json:"nsqd"`
	Body      []byte    `json:"body"`
}

// maxDeadLetterError caps the error text kept in an envelope.
const maxDeadLetterError = 4096

// Encode returns the JSON form of d.
func (d DeadLetter) Encode() ([]byte, error) {
	if len(d.Error) > maxDeadLetterError {
		d.Error = d.Error[:maxDeadLetterError] + "...(truncated)"
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("cannot encode dead letter: %w", err)
	}
	return b, nil
}

// DecodeDeadLetter parses an envelope read from a dead-letter topic.
func DecodeDeadLetter(b []byte) (DeadLetter, error) {
	var d DeadLetter
	if err := json.Unmarshal(b, &d); err != nil {
		return DeadLetter{}, fmt.Errorf("cannot decode dead letter: %w", err)
	}
	if d.V != deadLetterVersion {
		return DeadLetter{}, fmt.Errorf("cannot decode dead letter: unknown version %d", d.V)
	}
	if d.Topic == "" {
		return DeadLetter{}, errors.New("cannot decode dead letter: missing topic")
	}
	return d, nil
}
