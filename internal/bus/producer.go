package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nsqio/go-nsq"
)

// ErrClosed is returned by calls on a closed Producer, Consumer or Outbox.
var ErrClosed = errors.New("bus: closed")

// ProducerOptions configures a Producer.
type ProducerOptions struct {
	// Addrs are nsqd TCP addresses. A publish goes to the address that last
	// worked and fails over to the next one on error. Required.
	Addrs []string
	// PublishTimeout bounds a Publish whose context has no deadline. Default 5s.
	PublishTimeout time.Duration
	// DialTimeout bounds connecting to one nsqd. Default 1s.
	DialTimeout time.Duration
	// CloseTimeout bounds how long Close waits for publishes in progress. Default 5s.
	CloseTimeout time.Duration
	// Security adds TLS and the AUTH secret to every connection; nil: plain.
	Security *Security
	// Logger gets the producer's and go-nsq's warnings; nil discards them.
	Logger *slog.Logger
}

// Producer publishes to nsqd over TCP with fail-over between addresses.
// It is safe for concurrent use.
type Producer struct {
	opts  ProducerOptions
	log   *slog.Logger
	conns []*nsqdConn
	cur   atomic.Int64 // index of the address that last worked
	mu    sync.RWMutex // guards closed against wg.Add
	wg    sync.WaitGroup
	close sync.Once

	closed bool
}

// NewProducer creates a producer; it connects lazily on the first publish
// (use Ping to check the addresses up front).
func NewProducer(opts ProducerOptions) (*Producer, error) {
	if len(opts.Addrs) == 0 {
		return nil, errors.New("cannot create producer: no nsqd address")
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = time.Second
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = 5 * time.Second
	}
	p := &Producer{opts: opts, log: discardLogger(opts.Logger).With("component", "bus.producer")}
	adapter := slogAdapter{l: p.log}
	for _, addr := range opts.Addrs {
		cfg := nsq.NewConfig()
		cfg.DialTimeout = opts.DialTimeout
		// A silent or vanished nsqd is noticed within ReadTimeout (go-nsq's
		// default is 60s); nsqd heartbeats keep a healthy connection alive.
		cfg.HeartbeatInterval = 5 * time.Second
		cfg.ReadTimeout = 10 * time.Second
		opts.Security.apply(cfg)
		c, err := newNSQDConn(addr, cfg, adapter)
		if err != nil {
			p.stopAll()
			return nil, err
		}
		p.conns = append(p.conns, c)
	}
	return p, nil
}

// Addrs returns the nsqd addresses this producer publishes to.
func (p *Producer) Addrs() []string { return append([]string(nil), p.opts.Addrs...) }

// Publish sends one message to topic and returns once an nsqd acknowledged
// it, or with an error when every address failed or ctx (or PublishTimeout,
// when ctx has no deadline) ran out. After a timeout the message may still
// arrive: delivery is at least once.
func (p *Producer) Publish(ctx context.Context, topic string, body []byte) error {
	if err := ValidateTopic(topic); err != nil {
		return fmt.Errorf("cannot publish: %w", err)
	}
	if len(body) == 0 {
		return fmt.Errorf("cannot publish to %s: empty body (nsqd rejects it)", topic)
	}
	return p.do(ctx, "publish to "+topic, func(np *nsq.Producer) error { return np.Publish(topic, body) })
}

// MultiPublish sends bodies to topic in one command; nsqd accepts all or none.
func (p *Producer) MultiPublish(ctx context.Context, topic string, bodies [][]byte) error {
	if err := ValidateTopic(topic); err != nil {
		return fmt.Errorf("cannot publish: %w", err)
	}
	if len(bodies) == 0 {
		return nil
	}
	for i, b := range bodies {
		if len(b) == 0 {
			return fmt.Errorf("cannot publish to %s: body %d is empty (nsqd rejects it)", topic, i)
		}
	}
	return p.do(ctx, "publish to "+topic, func(np *nsq.Producer) error { return np.MultiPublish(topic, bodies) })
}

// Ping connects to every address (or reuses the connection) and reports nil
// if at least one nsqd answered; otherwise the joined errors. Before a
// connection's first ping, a short-lived probe connection checks that nsqd
// accepts commands from this client (TLS policy, AUTH; see probe).
func (p *Producer) Ping(ctx context.Context) error {
	if err := p.enter(); err != nil {
		return fmt.Errorf("cannot ping nsqd: %w", err)
	}
	defer p.wg.Done()
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	errs := make([]error, len(p.conns))
	var wg sync.WaitGroup
	for i, c := range p.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Probe a producer before its first NOP: go-nsq's producer
			// panics (popTransaction on an empty list) when nsqd answers
			// a NOP with an error, as an nsqd with --tls-required does for
			// a plain client. A producer is replaced when its connection
			// drops, so every new connection gets probed once.
			np := c.get()
			if !c.probed(np) {
				if err := probe(ctx, c.addr, c.cfg); err != nil {
					errs[i] = fmt.Errorf("%s: %w", p.opts.Addrs[i], err)
					return
				}
			}
			if err := p.withDeadline(ctx, np.Ping); err != nil {
				c.failed(np)
				errs[i] = fmt.Errorf("%s: %w", p.opts.Addrs[i], err)
				return
			}
			c.setProbed(np)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("cannot ping nsqd: %w", errors.Join(errs...))
}

// Close waits up to CloseTimeout for publishes in progress to be
// acknowledged, then disconnects (waiting up to CloseTimeout again for a
// connection attempt in progress). Later calls return ErrClosed.
func (p *Producer) Close() error {
	var err error
	p.close.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		if !waitTimeout(p.wg.Wait, p.opts.CloseTimeout) {
			err = fmt.Errorf("cannot flush producer: publishes still in progress after %v", p.opts.CloseTimeout)
		}
		if !waitTimeout(p.stopAll, p.opts.CloseTimeout) {
			err = errors.Join(err, fmt.Errorf("cannot stop producer within %v: nsqd connection attempt in progress", p.opts.CloseTimeout))
		}
	})
	return err
}

// waitTimeout runs f and reports whether it returned within d; if not, f
// keeps running in the background.
func waitTimeout(f func(), d time.Duration) bool {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

func (p *Producer) stopAll() {
	for _, c := range p.conns {
		c.stop()
	}
}

// enter registers a call in progress unless the producer is closed.
func (p *Producer) enter() error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	p.wg.Add(1)
	return nil
}

func (p *Producer) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, p.opts.PublishTimeout)
}

// do runs call against the address that last worked, failing over to the
// others in turn while ctx allows.
func (p *Producer) do(ctx context.Context, what string, call func(*nsq.Producer) error) error {
	if err := p.enter(); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	defer p.wg.Done()
	ctx, cancel := p.withTimeout(ctx)
	defer cancel()
	n := len(p.conns)
	start := int(p.cur.Load())
	var errs []error
	for i := range n {
		idx := (start + i) % n
		c := p.conns[idx]
		np := c.get()
		err := p.withDeadline(ctx, func() error { return call(np) })
		if err != nil {
			c.failed(np)
		}
		if err == nil {
			if idx != start {
				p.cur.Store(int64(idx))
			}
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.opts.Addrs[idx], err))
		if ctx.Err() != nil {
			break
		}
		if n > 1 {
			p.log.Warn("publish failed, trying next nsqd", "addr", p.opts.Addrs[idx], "err", err)
		}
	}
	return fmt.Errorf("cannot %s on nsqd %s: %w", what, strings.Join(p.opts.Addrs, ","), errors.Join(errs...))
}

// withDeadline runs the synchronous go-nsq call f and gives up when ctx is
// done; f keeps running in the background until go-nsq's own timeouts end it.
func (p *Producer) withDeadline(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		errc <- f()
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer from nsqd: %w", ctx.Err())
	}
}
