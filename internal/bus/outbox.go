package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/tidwall/buntdb"
)

// OutboxOptions configures an Outbox. Zero values get the defaults noted.
type OutboxOptions struct {
	// Path is the buntdb file the outbox keeps its messages in; ":memory:"
	// keeps them in memory only (tests). Required.
	Path string
	// Producer publishes the messages. Required; the outbox does not close it.
	Producer *Producer
	// Name labels the outbox in logs and metrics. Default "outbox".
	Name string
	// BatchSize is the most messages published per round. Default 256.
	BatchSize int
	// BatchBytes is the most body bytes published per round (nsqd's
	// --max-body-size defaults to 5 MiB). Default 1 MiB.
	BatchBytes int
	// MaxMessageSize rejects larger bodies at Enqueue (nsqd's --max-msg-size
	// defaults to 1 MiB). Default 1 MiB.
	MaxMessageSize int
	// PublishTimeout bounds one publish round. Default 5s.
	PublishTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between failed rounds, which
	// doubles per failure. Defaults 50ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// SyncEverySecond makes buntdb fsync once a second instead of on every
	// Enqueue: faster, but a power loss can lose the last second.
	SyncEverySecond bool
	// Logger gets the outbox's warnings; nil discards them.
	Logger *slog.Logger
	// Metrics, if set, gets wharf_bus_outbox_* series labelled with Name.
	Metrics *metrics.Set
}

// Outbox stores messages durably in buntdb and publishes them to nsqd in the
// background, deleting each only after nsqd acknowledged it. Delivery is at
// least once; order is oldest first per topic, best effort across topics.
// A message nsqd refuses for good (E_BAD_MESSAGE, E_BAD_BODY, E_BAD_TOPIC,
// e.g. larger than nsqd's --max-msg-size) is moved aside under the
// "rejected:" key prefix in the same file and logged, instead of blocking
// everything behind it.
type Outbox struct {
	opts OutboxOptions
	log  *slog.Logger
	db   *buntdb.DB

	seq     atomic.Uint64
	pending atomic.Int64
	wake    chan struct{}

	mu     sync.RWMutex // guards closed against Enqueue in progress
	closed bool
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	published, publishErrors *metrics.Counter
}

// outboxKeyPrefix starts every message key; the rest is a zero-padded
// sequence number so buntdb's key order is enqueue order.
const outboxKeyPrefix = "m:"

// outboxKeyEnd is the first key after every message key (';' follows ':').
const outboxKeyEnd = "m;"

// NewOutbox opens (or creates) the outbox file and starts publishing
// whatever it holds.
func NewOutbox(opts OutboxOptions) (*Outbox, error) {
	if opts.Path == "" {
		return nil, errors.New("cannot create outbox: Path is required")
	}
	if opts.Producer == nil {
		return nil, errors.New("cannot create outbox: Producer is required")
	}
	setOutboxDefaults(&opts)
	db, err := buntdb.Open(opts.Path)
	if err != nil {
		return nil, fmt.Errorf("cannot open outbox %s: %w", opts.Path, err)
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot read outbox config: %w", err)
	}
	cfg.SyncPolicy = buntdb.Always
	if opts.SyncEverySecond {
		cfg.SyncPolicy = buntdb.EverySecond
	}
	if err := db.SetConfig(cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cannot configure outbox: %w", err)
	}
	o := &Outbox{
		opts: opts,
		log:  discardLogger(opts.Logger).With("component", "bus.outbox", "outbox", opts.Name),
		db:   db,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	if err := o.load(); err != nil {
		_ = db.Close()
		return nil, err
	}
	if set := opts.Metrics; set != nil {
		label := fmt.Sprintf("{outbox=%q}", opts.Name)
		o.published = set.GetOrCreateCounter("wharf_bus_outbox_published_total" + label)
		o.publishErrors = set.GetOrCreateCounter("wharf_bus_outbox_publish_errors_total" + label)
		set.GetOrCreateGauge("wharf_bus_outbox_pending"+label, func() float64 { return float64(o.pending.Load()) })
	}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	go o.run()
	if o.pending.Load() > 0 {
		o.log.Info("outbox has messages from a previous run", "pending", o.pending.Load())
	}
	return o, nil
}

func setOutboxDefaults(o *OutboxOptions) {
	if o.Name == "" {
		o.Name = "outbox"
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 256
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 1 << 20
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 1 << 20
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 50 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
}

// load restores the sequence and pending count from the file.
func (o *Outbox) load() error {
	return o.db.View(func(tx *buntdb.Tx) error {
		var n int64
		var last string
		err := tx.AscendRange("", outboxKeyPrefix, outboxKeyEnd, func(key, _ string) bool {
			n++
			last = key
			return true
		})
		if err != nil {
			return fmt.Errorf("cannot read outbox: %w", err)
		}
		if last != "" {
			seq, err := strconv.ParseUint(strings.TrimPrefix(last, outboxKeyPrefix), 10, 64)
			if err != nil {
				return fmt.Errorf("cannot read outbox key %q: %w", last, err)
			}
			o.seq.Store(seq)
		}
		o.pending.Store(n)
		return nil
	})
}

// Enqueue stores body for topic and returns once it is written (and, unless
// SyncEverySecond, fsynced). Publishing happens in the background.
func (o *Outbox) Enqueue(ctx context.Context, topic string, body []byte) error {
	if err := ValidateTopic(topic); err != nil {
		return fmt.Errorf("cannot enqueue: %w", err)
	}
	if len(body) == 0 {
		return fmt.Errorf("cannot enqueue to %s: empty body (nsqd rejects it)", topic)
	}
	if len(body) > o.opts.MaxMessageSize {
		return fmt.Errorf("cannot enqueue to %s: body of %d bytes exceeds %d", topic, len(body), o.opts.MaxMessageSize)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot enqueue to %s: %w", topic, err)
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return fmt.Errorf("cannot enqueue to %s: %w", topic, ErrClosed)
	}
	key := outboxKey(o.seq.Add(1))
	val := make([]byte, 0, len(topic)+1+len(body))
	val = append(append(append(val, topic...), 0), body...)
	err := o.db.Update(func(tx *buntdb.Tx) error {
		_, _, err := tx.Set(key, string(val), nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("cannot enqueue to %s: %w", topic, err)
	}
	o.pending.Add(1)
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

func outboxKey(seq uint64) string {
	var b [len(outboxKeyPrefix) + 20]byte
	copy(b[:], outboxKeyPrefix)
	s := strconv.AppendUint(make([]byte, 0, 20), seq, 10)
	i := len(outboxKeyPrefix)
	for range 20 - len(s) {
		b[i] = '0'
		i++
	}
	copy(b[i:], s)
	return string(b[:])
}

// Pending returns how many messages wait to be acknowledged by nsqd.
func (o *Outbox) Pending() int { return int(o.pending.Load()) }

// Flush waits until every message enqueued so far is published, or ctx ends.
func (o *Outbox) Flush(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for o.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot flush outbox: %d pending: %w", o.pending.Load(), ctx.Err())
		case <-o.done:
			return fmt.Errorf("cannot flush outbox: %w", ErrClosed)
		case <-t.C:
		}
	}
	return nil
}

// Close stops publishing (a round in progress is abandoned; its messages
// stay stored and may be published twice) and closes the file. Messages
// still pending are published by the next Outbox opened on the same Path.
func (o *Outbox) Close() error {
	var err error
	o.once.Do(func() {
		o.mu.Lock()
		o.closed = true
		o.mu.Unlock()
		o.cancel()
		<-o.done
		if cerr := o.db.Close(); cerr != nil {
			err = fmt.Errorf("cannot close outbox %s: %w", o.opts.Path, cerr)
		}
	})
	return err
}
