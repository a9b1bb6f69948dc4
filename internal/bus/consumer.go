package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/nsqio/go-nsq"
)

// HandlerFunc processes one message. A nil error finishes the message; an
// error or a panic requeues it (or dead-letters it after MaxAttempts).
// ctx is cancelled when the message's time is up or Stop gives up waiting.
type HandlerFunc func(ctx context.Context, m *Message) error

// ConsumerOptions configures a Consumer. Zero values get the defaults noted.
type ConsumerOptions struct {
	// Topic and Channel to subscribe to. Required.
	Topic, Channel string
	// NSQDAddrs are nsqd TCP addresses to connect to directly.
	NSQDAddrs []string
	// LookupdHTTPAddrs are nsqlookupd HTTP addresses used to discover the
	// nsqds that have Topic. One of NSQDAddrs or LookupdHTTPAddrs is required.
	LookupdHTTPAddrs []string
	// MaxInFlight is how many messages nsqd may hand out before they are
	// answered. Default 64 (go-nsq's own default of 1 serialises everything).
	MaxInFlight int
	// Concurrency is the number of handler goroutines. Default MaxInFlight.
	Concurrency int
	// MaxAttempts is how many deliveries a failing message gets before it
	// is dead-lettered. Default 5.
	MaxAttempts uint16
	// RequeueDelay is the requeue delay unit: a failed message comes back
	// after RequeueDelay*attempts. Default 1s; negative requeues at once.
	// (nsqd notices deferred messages of a channel created less than
	// --queue-scan-refresh-interval (5s) ago only after that interval.)
	RequeueDelay time.Duration
	// MaxRequeueDelay caps the requeue delay. Default 1m.
	MaxRequeueDelay time.Duration
	// BackoffMultiplier is go-nsq's backoff unit: after a failure the whole
	// consumer pauses (RDY 0) for an exponentially growing time. Default 100ms.
	BackoffMultiplier time.Duration
	// MaxBackoffDuration caps the consumer pause. Default 10s; negative
	// turns consumer backoff off (only the per-message requeue delay remains).
	MaxBackoffDuration time.Duration
	// MsgTimeout is how long nsqd waits for an answer before redelivering,
	// and the deadline of the handler's context. Default nsqd's (60s).
	MsgTimeout time.Duration
	// PollInterval is how often nsqlookupd is polled, and how often a lost
	// or unreachable nsqd is redialled. Default 15s.
	PollInterval time.Duration
	// StopTimeout bounds how long Stop waits for handlers in progress. Default 30s.
	StopTimeout time.Duration
	// DeadLetter publishes dead letters. Nil: the consumer publishes each
	// dead letter to the nsqd that delivered the message.
	DeadLetter *Producer
	// Security adds TLS and the AUTH secret to every nsqd connection (and
	// to the dead-letter producers the consumer creates); nil: plain.
	Security *Security
	// Handler processes messages. Required.
	Handler HandlerFunc
	// Logger gets the consumer's and go-nsq's warnings; nil discards them.
	Logger *slog.Logger
	// Metrics, if set, gets wharf_bus_consumer_* counters for this topic and channel.
	Metrics *metrics.Set
}

// Consumer reads a topic/channel from nsqd with MaxInFlight messages in
// flight, Concurrency handlers, requeue with backoff and dead-lettering.
type Consumer struct {
	opts  ConsumerOptions
	log   *slog.Logger
	nc    *nsq.Consumer
	stats *consumerCounters

	baseCtx    context.Context
	cancelBase context.CancelFunc
	// stopping is set when Stop begins; read by the go-nsq log adapter
	// without taking mu (go-nsq may log while Start holds it).
	stopping atomic.Bool

	mu       sync.Mutex
	started  bool
	stopped  bool
	dlProds  map[string]*Producer // dead-letter producers per nsqd address
	stopErr  error
	stopOnce sync.Once
}

// NewConsumer checks opts and prepares the consumer; Start connects.
func NewConsumer(opts ConsumerOptions) (*Consumer, error) {
	if err := ValidateTopic(opts.Topic); err != nil {
		return nil, fmt.Errorf("cannot create consumer: %w", err)
	}
	if err := ValidateTopic(DeadLetterTopic(opts.Topic)); err != nil {
		return nil, fmt.Errorf("cannot create consumer: dead-letter topic: %w", err)
	}
	if err := ValidateChannel(opts.Channel); err != nil {
		return nil, fmt.Errorf("cannot create consumer: %w", err)
	}
	if len(opts.NSQDAddrs) == 0 && len(opts.LookupdHTTPAddrs) == 0 {
		return nil, errors.New("cannot create consumer: need NSQDAddrs or LookupdHTTPAddrs")
	}
	if opts.Handler == nil {
		return nil, errors.New("cannot create consumer: Handler is required")
	}
	setConsumerDefaults(&opts)
	log := discardLogger(opts.Logger).With("component", "bus.consumer", "topic", opts.Topic, "channel", opts.Channel)

	cfg := nsq.NewConfig()
	cfg.MaxInFlight = opts.MaxInFlight
	cfg.MaxAttempts = 0 // unlimited: dead-lettering is ours, go-nsq would drop silently
	cfg.DefaultRequeueDelay = max(opts.RequeueDelay, 0)
	cfg.MaxRequeueDelay = opts.MaxRequeueDelay
	cfg.BackoffMultiplier = opts.BackoffMultiplier
	cfg.MaxBackoffDuration = max(opts.MaxBackoffDuration, 0)
	cfg.LookupdPollInterval = opts.PollInterval
	cfg.MsgTimeout = opts.MsgTimeout
	opts.Security.apply(cfg)
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create consumer: %w", err)
	}
	nc, err := nsq.NewConsumer(opts.Topic, opts.Channel, cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot create consumer: %w", err)
	}
	c := &Consumer{
		opts:    opts,
		log:     log,
		nc:      nc,
		stats:   newConsumerCounters(opts.Metrics, opts.Topic, opts.Channel),
		dlProds: make(map[string]*Producer),
	}
	nc.SetLogger(slogAdapter{l: log, stopping: c.stopping.Load}, nsq.LogLevelWarning)
	c.baseCtx, c.cancelBase = context.WithCancel(context.Background())
	nc.AddConcurrentHandlers(nsq.HandlerFunc(c.handle), opts.Concurrency)
	return c, nil
}

func setConsumerDefaults(o *ConsumerOptions) {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 64
	}
	if o.Concurrency <= 0 {
		o.Concurrency = o.MaxInFlight
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 5
	}
	if o.RequeueDelay == 0 {
		o.RequeueDelay = time.Second
	}
	if o.MaxRequeueDelay <= 0 {
		o.MaxRequeueDelay = time.Minute
	}
	if o.MaxRequeueDelay < o.RequeueDelay {
		o.MaxRequeueDelay = o.RequeueDelay
	}
	if o.BackoffMultiplier <= 0 {
		o.BackoffMultiplier = 100 * time.Millisecond
	}
	if o.MaxBackoffDuration == 0 {
		o.MaxBackoffDuration = 10 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 15 * time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 30 * time.Second
	}
}

// Start connects to the nsqds or nsqlookupds. An nsqd that cannot be reached
// now is redialled every PollInterval in the background, so Start only fails
// on a stopped consumer or a bad lookupd address. ctx is checked, not kept.
func (c *Consumer) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot start consumer: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return fmt.Errorf("cannot start consumer: %w", ErrClosed)
	}
	if c.started {
		return errors.New("cannot start consumer: already started")
	}
	c.started = true
	if len(c.opts.LookupdHTTPAddrs) > 0 {
		if err := c.nc.ConnectToNSQLookupds(c.opts.LookupdHTTPAddrs); err != nil {
			return fmt.Errorf("cannot connect consumer to nsqlookupd: %w", err)
		}
	}
	for _, addr := range c.opts.NSQDAddrs {
		if err := c.nc.ConnectToNSQD(addr); err != nil {
			c.log.Warn("cannot connect to nsqd, retrying in background", "addr", addr, "err", err)
			go c.redial(addr)
		}
	}
	return nil
}

// redial retries an nsqd that was down at Start; go-nsq only reconnects
// connections that once succeeded.
func (c *Consumer) redial(addr string) {
	t := time.NewTicker(c.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-c.baseCtx.Done():
			return
		case <-t.C:
		}
		err := c.nc.ConnectToNSQD(addr)
		if err == nil || errors.Is(err, nsq.ErrAlreadyConnected) {
			c.log.Info("connected to nsqd", "addr", addr)
			return
		}
		if c.isStopped() {
			return
		}
		c.log.Debug("cannot connect to nsqd", "addr", addr, "err", err)
	}
}

func (c *Consumer) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// Run starts the consumer, waits for ctx to end and stops it; it stops
// the consumer too when it cannot start it (ctx already done).
func (c *Consumer) Run(ctx context.Context) error {
	if err := c.Start(ctx); err != nil {
		// go-nsq started the handler goroutines when the consumer was
		// made: a Run that never starts must still stop them.
		_ = c.Stop()
		return err
	}
	<-ctx.Done()
	return c.Stop()
}

// Stop stops taking messages and waits up to StopTimeout for handlers in
// progress to finish and be answered; after that their contexts are
// cancelled and Stop returns an error. Messages not answered are redelivered
// by nsqd. Stop is idempotent.
func (c *Consumer) Stop() error {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		c.nc.Stop()
		select {
		case <-c.nc.StopChan:
		case <-time.After(c.opts.StopTimeout):
			c.cancelBase()
			c.stopErr = fmt.Errorf("cannot drain consumer %s/%s: handlers still running after %v",
				c.opts.Topic, c.opts.Channel, c.opts.StopTimeout)
			select {
			case <-c.nc.StopChan:
			case <-time.After(time.Second):
			}
		}
		c.cancelBase()
		c.mu.Lock()
		prods := c.dlProds
		c.dlProds = nil
		c.mu.Unlock()
		for _, p := range prods {
			_ = p.Close()
		}
	})
	return c.stopErr
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() ConsumerStats { return c.stats.snapshot() }
