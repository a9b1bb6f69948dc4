// Package health is active health checking of a service's instances: every
// Interval each instance is asked for Path; Unhealthy failed checks in a row
// take it out of Eligible, Healthy passed checks in a row bring it back.
// Instances start healthy, so traffic flows before the first round; passive
// health (balance.Ejector) covers the gap.
package health

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/gateway/balance"
)

// Defaults for Options.
const (
	DefaultInterval  = 5 * time.Second
	DefaultTimeout   = time.Second
	DefaultHealthy   = 2
	DefaultUnhealthy = 3
)

// Options configures a Checker.
type Options struct {
	// Path is requested with GET on every instance, e.g. "/healthz"; a 2xx or
	// 3xx answer within Timeout passes.
	Path      string
	Interval  time.Duration
	Timeout   time.Duration
	Healthy   int // passes in a row that bring an instance back
	Unhealthy int // failures in a row that take it out
	// Host is sent as the Host header (default: the instance address).
	Host string
	// OnChange, when set, is called with an instance's index each time it
	// turns healthy or unhealthy, from the checking goroutine; it must not
	// block.
	OnChange func(i int, healthy bool)
}

func (o *Options) defaults() error {
	if o.Path == "" || o.Path[0] != '/' {
		return fmt.Errorf("cannot check health: path must start with /, got %q", o.Path)
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Timeout > o.Interval {
		o.Timeout = o.Interval
	}
	if o.Healthy <= 0 {
		o.Healthy = DefaultHealthy
	}
	if o.Unhealthy <= 0 {
		o.Unhealthy = DefaultUnhealthy
	}
	return nil
}

type state struct {
	addr             string
	healthy          atomic.Bool
	passes, failures int // consecutive; touched only by the checking goroutine
}

// Checker checks a fixed set of instances. Eligible is safe for concurrent
// use and does not allocate when dst is large enough.
type Checker struct {
	opts   Options
	inst   []*state
	down   atomic.Int32 // instances currently unhealthy
	client *fasthttp.Client
	mu     sync.Mutex // serialises rounds (Run and CheckNow)
}

// New returns a Checker of addrs; Run checks them until its context ends.
func New(addrs []string, opts Options) (*Checker, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	c := &Checker{opts: opts, client: &fasthttp.Client{
		ReadTimeout: opts.Timeout, WriteTimeout: opts.Timeout, MaxConnsPerHost: 2,
		NoDefaultUserAgentHeader: true, Name: "wharf-health",
	}}
	for _, a := range addrs {
		s := &state{addr: a}
		s.healthy.Store(true)
		c.inst = append(c.inst, s)
	}
	return c, nil
}

// Healthy reports whether instance i passes its checks.
func (c *Checker) Healthy(i int) bool { return c.inst[i].healthy.Load() }

// Eligible returns the healthy instances as a Mask (nil when all are).
func (c *Checker) Eligible(dst balance.Mask) balance.Mask {
	if c.down.Load() == 0 {
		return nil
	}
	n := balance.MaskWords(len(c.inst))
	if len(dst) < n {
		dst = make(balance.Mask, n)
	}
	dst = dst[:n]
	clear(dst)
	for i, s := range c.inst {
		if s.healthy.Load() {
			dst.Set(i)
		}
	}
	return dst
}

// Run checks every Interval until ctx ends, then closes its connections.
func (c *Checker) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	defer c.client.CloseIdleConnections() // its connections end with it
	for {
		c.CheckNow(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckNow runs one round: every instance concurrently, each within Timeout.
func (c *Checker) CheckNow(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wg sync.WaitGroup
	results := make([]error, len(c.inst))
	for i, s := range c.inst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.probe(ctx, s.addr)
		}()
	}
	wg.Wait()
	for i, s := range c.inst {
		if c.record(s, results[i] == nil) && c.opts.OnChange != nil {
			c.opts.OnChange(i, s.healthy.Load())
		}
	}
}

// record counts one check and reports whether the instance changed state.
func (c *Checker) record(s *state, ok bool) bool {
	if ok {
		s.passes, s.failures = s.passes+1, 0
		if !s.healthy.Load() && s.passes >= c.opts.Healthy {
			s.healthy.Store(true)
			c.down.Add(-1)
			return true
		}
		return false
	}
	s.passes, s.failures = 0, s.failures+1
	if s.healthy.Load() && s.failures >= c.opts.Unhealthy {
		s.healthy.Store(false)
		c.down.Add(1)
		return true
	}
	return false
}

var errStatus = errors.New("unhealthy status")

func (c *Checker) probe(ctx context.Context, addr string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + c.opts.Path)
	if c.opts.Host != "" {
		req.Header.SetHost(c.opts.Host)
		req.UseHostHeader = true
	}
	if err := c.client.DoTimeout(req, resp, c.opts.Timeout); err != nil {
		return fmt.Errorf("cannot check %s: %w", addr, err)
	}
	if st := resp.StatusCode(); st < 200 || st >= 400 {
		return fmt.Errorf("%s answered %d: %w", addr, st, errStatus)
	}
	return nil
}
