package bus

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nsqio/go-nsq"
)

// nsqdConn holds the go-nsq producer for one nsqd address. A go-nsq
// producer whose connection failed is retired and replaced by a fresh one
// instead of letting it reconnect: go-nsq v1.1.0 reconnects by overwriting
// its conn field while the old router goroutine may still read it (a data
// race). go-nsq logs at error level before it drops a connection, so the
// producer's logger marks it broken and the next get replaces it.
type nsqdConn struct {
	addr   string
	cfg    *nsq.Config
	logger slogAdapter

	mu      sync.Mutex
	np      *nsq.Producer
	checked *nsq.Producer // np once a probe and a ping passed for it
	broken  *atomic.Bool  // set by np's logger on an error line
	stopped bool
	retired sync.WaitGroup
}

// breakLogger passes go-nsq's lines on and notes error lines.
type breakLogger struct {
	slogAdapter
	broken *atomic.Bool
}

// Output implements go-nsq's logger.
func (b breakLogger) Output(depth int, s string) error {
	if strings.HasPrefix(s, "ERR ") {
		b.broken.Store(true)
	}
	return b.slogAdapter.Output(depth, s)
}

func newNSQDConn(addr string, cfg *nsq.Config, logger slogAdapter) (*nsqdConn, error) {
	c := &nsqdConn{addr: addr, cfg: cfg, logger: logger}
	if err := c.renew(); err != nil {
		return nil, err
	}
	return c, nil
}

// renew installs a fresh go-nsq producer; the caller holds mu (or owns c).
func (c *nsqdConn) renew() error {
	np, err := nsq.NewProducer(c.addr, c.cfg)
	if err != nil {
		return fmt.Errorf("cannot create producer for %s: %w", c.addr, err)
	}
	broken := new(atomic.Bool)
	np.SetLogger(breakLogger{slogAdapter: c.logger, broken: broken}, nsq.LogLevelWarning)
	c.np, c.broken = np, broken
	return nil
}

// get returns the current go-nsq producer, replacing a broken one.
func (c *nsqdConn) get() *nsq.Producer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken.Load() && !c.stopped {
		c.retireLocked()
	}
	return c.np
}

// retireLocked replaces the current producer and stops the old one in the
// background (Stop waits for a connection attempt in progress).
func (c *nsqdConn) retireLocked() {
	old := c.np
	if err := c.renew(); err != nil {
		return
	}
	c.retired.Add(1)
	go func() {
		defer c.retired.Done()
		old.Stop()
	}()
}

// failed replaces np after any error: nsqd closes the connection after the
// errors it answers with, and a producer that did not answer in time may
// hang on a dead connection.
func (c *nsqdConn) failed(np *nsq.Producer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.np != np {
		return
	}
	c.retireLocked()
}

// stop stops the current producer and waits for retired ones.
func (c *nsqdConn) stop() {
	c.mu.Lock()
	c.stopped = true
	np := c.np
	c.mu.Unlock()
	np.Stop()
	c.retired.Wait()
}

// probed reports whether a probe and a ping passed for np.
func (c *nsqdConn) probed(np *nsq.Producer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked == np
}

// setProbed records that a probe and a ping passed for np.
func (c *nsqdConn) setProbed(np *nsq.Producer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked = np
}
