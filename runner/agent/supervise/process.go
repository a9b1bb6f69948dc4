package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/logging"
)

// Process is a supervised child started by Start. Its methods are safe for
// concurrent use.
type Process struct {
	spec Spec
	env  []string
	log  *slog.Logger
	out  *RotatingWriter

	stopOnce sync.Once
	stop     chan struct{} // closed by Stop
	done     chan struct{} // closed when the run loop returned

	mu     sync.Mutex
	status Status
}

// Start validates spec, opens its log file and starts the command; it fails
// if the first start fails. From then on a goroutine supervises the child
// until Stop is called or ctx is cancelled (which is the same as Stop).
func Start(ctx context.Context, spec Spec, opts Options) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cannot start process %q: %w", spec.Name, err)
	}
	spec, err := spec.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("cannot start process %q: %w", spec.Name, err)
	}
	env, err := buildEnv(spec.Env)
	if err != nil {
		return nil, fmt.Errorf("cannot start process %q: %w", spec.Name, err)
	}
	if err := os.MkdirAll(spec.LogDir, 0o750); err != nil {
		return nil, fmt.Errorf("cannot create log directory: %w", err)
	}
	out, err := NewRotatingWriter(filepath.Join(spec.LogDir, spec.Name+".log"), spec.LogMaxBytes, spec.LogKeep)
	if err != nil {
		return nil, fmt.Errorf("cannot start process %q: %w", spec.Name, err)
	}
	p := &Process{
		spec:   spec,
		env:    env,
		log:    logging.Component(opts.Logger, "supervise").With("process", spec.Name),
		out:    out,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		status: Status{Name: spec.Name},
	}
	c, err := p.spawn()
	if err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("cannot start process %q: %w", spec.Name, err)
	}
	go p.run(ctx, c)
	return p, nil
}

// Stop sends Spec.StopSignal to the process group, waits up to
// Spec.StopGrace for it to exit, then kills the group. It returns nil once
// the child and its group are gone and the log is closed, or ctx's error if
// ctx ends first (the stop goes on). Stop is idempotent and safe to call
// from several goroutines; no restart happens after it.
func (p *Process) Stop(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cannot stop process %q: %w", p.spec.Name, ctx.Err())
	}
}

// Done returns a channel closed when the process is stopped for good.
func (p *Process) Done() <-chan struct{} { return p.done }

// Status returns a snapshot of the process state.
func (p *Process) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// LogPath returns the path of the current log file, <LogDir>/<Name>.log.
func (p *Process) LogPath() string { return p.out.Path() }

// LogTail returns the last n lines of the process's combined output, read
// across the rotation boundary when the current file holds fewer. It also
// works after Stop.
func (p *Process) LogTail(n int) ([]string, error) {
	lines, err := p.out.Tail(n)
	if err != nil {
		return nil, fmt.Errorf("cannot tail log of process %q: %w", p.spec.Name, err)
	}
	return lines, nil
}

// run supervises the children until stop or ctx. c is the running child,
// nil after a failed start.
func (p *Process) run(ctx context.Context, c *child) {
	defer close(p.done)
	defer func() {
		if err := p.out.Close(); err != nil {
			p.log.Warn("cannot close log", "err", err)
		}
	}()
	crashes := 0
	for {
		if c != nil {
			select {
			case <-c.exited:
				p.exited(c, false)
				c.terminate(p.spec.StopSignal, p.spec.StopGrace, p.log) // what the child left behind
				if time.Since(c.started) >= p.spec.Backoff.ResetAfter {
					crashes = 0
				}
			case <-p.stop:
				p.halt(c)
				return
			case <-ctx.Done():
				p.halt(c)
				return
			}
		}
		crashes++
		delay := p.spec.Backoff.delay(crashes)
		p.mu.Lock()
		p.status.State = StateBackoff
		p.status.NextStartAt = time.Now().Add(delay)
		p.mu.Unlock()
		p.log.Info("restarting after back-off", "delay", delay, "crashes", crashes)
		timer := time.NewTimer(delay)
		select {
		case <-timer.C:
		case <-p.stop:
			timer.Stop()
			p.halt(nil)
			return
		case <-ctx.Done():
			timer.Stop()
			p.halt(nil)
			return
		}
		p.mu.Lock()
		p.status.Restarts++
		p.status.NextStartAt = time.Time{}
		p.mu.Unlock()
		var err error
		if c, err = p.spawn(); err != nil {
			p.log.Warn("cannot restart process", "err", err)
		}
	}
}

// spawn starts a child and records it (or the failure) in the status.
func (p *Process) spawn() (*child, error) {
	c, err := spawn(p.spec.Command, p.spec.Dir, p.env, p.spec.Credential, p.out, p.spec.OnLine, p.log)
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.status.State, p.status.PID = StateBackoff, 0
		p.status.StartedAt, p.status.ExitedAt = now, now
		p.status.LastExitCode, p.status.LastErr = -1, err
		return nil, err
	}
	p.status.State, p.status.PID, p.status.StartedAt = StateRunning, c.pid, c.started
	p.log.Info("process started", "pid", c.pid)
	return c, nil
}

// halt ends c (if any) for good and marks the process stopped.
func (p *Process) halt(c *child) {
	if c != nil {
		p.mu.Lock()
		p.status.State = StateStopping
		p.mu.Unlock()
		p.log.Info("stopping process", "pid", c.pid, "signal", p.spec.StopSignal)
		c.terminate(p.spec.StopSignal, p.spec.StopGrace, p.log)
		p.exited(c, true)
	}
	p.mu.Lock()
	p.status.State = StateStopped
	p.status.PID = 0
	p.status.NextStartAt = time.Time{}
	p.mu.Unlock()
	p.log.Info("process stopped")
}

// exited records the end of c; stopping says whether Stop ended it.
func (p *Process) exited(c *child, stopping bool) {
	code := c.exitCode()
	p.mu.Lock()
	p.status.PID = 0
	if !stopping {
		p.status.State = StateBackoff
	}
	p.status.ExitedAt = time.Now()
	p.status.LastExitCode = code
	p.status.LastErr = c.waitErr
	p.mu.Unlock()
	if stopping {
		p.log.Info("process exited on stop", "pid", c.pid, "code", code, "err", c.waitErr)
		return
	}
	p.log.Warn("process exited unexpectedly", "pid", c.pid, "code", code, "err", c.waitErr,
		"ran", time.Since(c.started).Round(time.Millisecond))
}
