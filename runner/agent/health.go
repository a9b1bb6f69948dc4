package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/runner/agent/supervise"
)

// Health polling.
const (
	healthPollEvery = 100 * time.Millisecond
	exitPollEvery   = 50 * time.Millisecond
	tcpCheckTimeout = time.Second
)

// healthChecker probes web instances on loopback.
type healthChecker struct {
	client *http.Client
}

func newHealthChecker() *healthChecker {
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	return &healthChecker{client: &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// check probes 127.0.0.1:port once: GET h.Path must answer 2xx within
// h.Timeout; without h, a TCP connection must be accepted.
func (c *healthChecker) check(ctx context.Context, port int, h *bundle.Health) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if h == nil {
		d := net.Dialer{Timeout: tcpCheckTimeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	timeout := h.Timeout.D()
	if timeout <= 0 {
		timeout = bundle.DefaultHealthTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+h.Path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "wharf-agent")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s answered %s", h.Path, resp.Status)
	}
	return nil
}

// poll checks p until it is healthy (nil) or ctx ends (the last error).
func (c *healthChecker) poll(ctx context.Context, p *proc, h *bundle.Health) error {
	var last error
	for {
		err := c.check(ctx, p.port, h)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil {
			last = err
		}
		t := time.NewTimer(healthPollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			if last == nil {
				last = errors.New("no answer yet")
			}
			return last
		case <-t.C:
		}
	}
}

// waitHealthy waits until every web instance of g is healthy, within
// Options.HealthTimeout. It fails at once when a process of g exits. The
// error is a *taskError with the failing process's log tail, or ctx's.
func (a *Agent) waitHealthy(ctx context.Context, g *gen) error {
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, a.opts.HealthTimeout)
	defer cancel()
	type result struct {
		p   *proc
		err error
	}
	results := make(chan result, len(g.procs))
	n := 0
	for _, p := range g.procs {
		if p.web {
			n++
			go func() { results <- result{p, a.health.poll(hctx, p, g.m.Health)} }()
		}
	}
	drain := func(k int) {
		cancel()
		for range k {
			<-results
		}
	}
	ticker := time.NewTicker(exitPollEvery)
	defer ticker.Stop()
	for n > 0 {
		select {
		case r := <-results:
			n--
			if r.err == nil {
				continue
			}
			drain(n)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if p := g.exited(); p != nil {
				return exitError(p)
			}
			return failf(r.p.tail(), "web instance %s not healthy within %s: %v",
				r.p.addr, a.opts.HealthTimeout, r.err)
		case <-ticker.C:
			if p := g.exited(); p != nil {
				drain(n)
				return exitError(p)
			}
		}
	}
	if p := g.exited(); p != nil {
		return exitError(p)
	}
	a.log.Info("instances healthy", "app", g.app, "version", g.version, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// exitError describes a process that exited while it should have run.
func exitError(p *proc) *taskError {
	// Once the back-off is scheduled, supervise has ended the group and
	// copied the last of its output to the log.
	deadline := time.Now().Add(time.Second)
	st := p.p.Status()
	for st.State == supervise.StateBackoff && st.NextStartAt.IsZero() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		st = p.p.Status()
	}
	why := "exited"
	if st.LastErr != nil {
		why = "exited: " + st.LastErr.Error()
	} else if !st.ExitedAt.IsZero() {
		why = fmt.Sprintf("exited with code %d", st.LastExitCode)
	}
	return failf(p.tail(), "process %s %s", p.name, why)
}
