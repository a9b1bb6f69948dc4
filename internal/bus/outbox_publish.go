package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nsqio/go-nsq"
	"github.com/tidwall/buntdb"
)

// outboxGroup is a run of stored messages for one topic, oldest first.
type outboxGroup struct {
	topic  string
	keys   []string
	bodies [][]byte
}

// run publishes until Close: a round per batch, waiting for Enqueue when
// empty and backing off when nsqd fails.
func (o *Outbox) run() {
	defer close(o.done)
	var backoff time.Duration
	for {
		n, err := o.publishRound()
		var timer *time.Timer
		var wait <-chan time.Time
		switch {
		case err != nil:
			backoff = min(max(2*backoff, o.opts.MinBackoff), o.opts.MaxBackoff)
			if o.ctx.Err() == nil {
				o.log.Warn("cannot publish outbox messages, retrying", "err", err, "pending", o.pending.Load(), "retry_in", backoff)
			}
			timer = time.NewTimer(backoff)
			wait = timer.C
		case n == 0:
			backoff = 0
		default:
			backoff = 0
			if o.ctx.Err() != nil {
				return
			}
			continue
		}
		select {
		case <-o.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-wait:
		case <-o.wake:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// publishRound publishes up to one batch and deletes what nsqd acknowledged.
func (o *Outbox) publishRound() (int, error) {
	groups, err := o.readBatch()
	if err != nil || len(groups) == 0 {
		return 0, err
	}
	done := 0
	for _, g := range groups {
		err := o.publishGroup(g)
		if err != nil && isRejected(err) {
			// nsqd refuses the batch for good: find the culprit one by one.
			err = o.publishEach(g)
		}
		if err != nil {
			if o.publishErrors != nil {
				o.publishErrors.Inc()
			}
			return done, err
		}
		done += len(g.keys)
	}
	return done, nil
}

// publishGroup publishes g in one MPUB and deletes it once acknowledged.
func (o *Outbox) publishGroup(g outboxGroup) error {
	ctx, cancel := context.WithTimeout(o.ctx, o.opts.PublishTimeout)
	err := o.opts.Producer.MultiPublish(ctx, g.topic, g.bodies)
	cancel()
	if err != nil {
		return err
	}
	if err := o.delete(g.keys); err != nil {
		return err
	}
	if o.published != nil {
		o.published.Add(len(g.keys))
	}
	return nil
}

// publishEach publishes g's messages singly, moving those nsqd rejects
// aside under "rejected:" so they stop blocking the outbox.
func (o *Outbox) publishEach(g outboxGroup) error {
	for i, key := range g.keys {
		one := outboxGroup{topic: g.topic, keys: []string{key}, bodies: [][]byte{g.bodies[i]}}
		err := o.publishGroup(one)
		if err != nil && isRejected(err) {
			o.log.Error("nsqd rejects outbox message, moving it aside", "key", key, "topic", g.topic, "err", err)
			err = o.quarantine([]string{key}, "rejected:")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// isRejected reports whether nsqd refused a publish for a reason retrying
// cannot fix (bad topic, bad or oversized body).
func isRejected(err error) bool {
	var proto nsq.ErrProtocol
	if !errors.As(err, &proto) {
		return false
	}
	for _, code := range []string{"E_BAD_MESSAGE", "E_BAD_BODY", "E_BAD_TOPIC"} {
		if strings.HasPrefix(proto.Reason, code) {
			return true
		}
	}
	return false
}

// readBatch reads the oldest messages, up to BatchSize and BatchBytes,
// grouped by topic in order of first appearance.
func (o *Outbox) readBatch() ([]outboxGroup, error) {
	var groups []outboxGroup
	idx := make(map[string]int)
	count, size := 0, 0
	var corrupt []string
	err := o.db.View(func(tx *buntdb.Tx) error {
		return tx.AscendRange("", outboxKeyPrefix, outboxKeyEnd, func(key, val string) bool {
			topic, body, ok := strings.Cut(val, "\x00")
			if !ok || ValidateTopic(topic) != nil {
				corrupt = append(corrupt, key)
				return true
			}
			if count > 0 && (count >= o.opts.BatchSize || size+len(body) > o.opts.BatchBytes) {
				return false
			}
			i, ok := idx[topic]
			if !ok {
				i = len(groups)
				idx[topic] = i
				groups = append(groups, outboxGroup{topic: topic})
			}
			groups[i].keys = append(groups[i].keys, key)
			groups[i].bodies = append(groups[i].bodies, []byte(body))
			count++
			size += len(body)
			return true
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read outbox: %w", err)
	}
	if len(corrupt) > 0 {
		o.log.Error("moving corrupt outbox entries aside", "count", len(corrupt), "first", corrupt[0])
		if err := o.quarantine(corrupt, "corrupt:"); err != nil {
			return nil, err
		}
	}
	return groups, nil
}

// quarantine moves entries out of the queue to prefix+key, so they neither
// block the outbox nor vanish; an operator can inspect them in the file.
func (o *Outbox) quarantine(keys []string, prefix string) error {
	err := o.db.Update(func(tx *buntdb.Tx) error {
		for _, k := range keys {
			v, err := tx.Delete(k)
			if err != nil {
				return err
			}
			if _, _, err := tx.Set(prefix+k, v, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot move outbox entries aside: %w", err)
	}
	o.pending.Add(-int64(len(keys)))
	return nil
}

// delete removes acknowledged messages.
func (o *Outbox) delete(keys []string) error {
	err := o.db.Update(func(tx *buntdb.Tx) error {
		for _, k := range keys {
			if _, err := tx.Delete(k); err != nil && err != buntdb.ErrNotFound {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot delete published outbox messages: %w", err)
	}
	o.pending.Add(-int64(len(keys)))
	return nil
}
