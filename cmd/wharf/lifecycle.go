package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// component is one entry of a process's component table: serve runs the
// whole table, each role the subset it needs (see wiring.components).
// Components start in table order and stop in the reverse order.
type component struct {
	// name appears in the error of a failed start and in the shutdown log.
	name string
	// start brings the component up. On success it returns the component's
	// shutdown step (nil: nothing to stop), which is also its undo when a
	// later component fails to start. On failure it leaves nothing of
	// itself running.
	start func(ctx context.Context) (stop stopFunc, err error)
}

// stopFunc stops a started component; ctx carries the step's deadline.
type stopFunc func(ctx context.Context) error

// started is the stop steps of the components a process started, in start order.
type started struct {
	log   *slog.Logger
	steps []shutdownStep
}

// shutdownStep is the named stop of one started component.
type shutdownStep struct {
	name string
	stop stopFunc
}

// startComponents starts table in order. When component k fails, the
// components before it are undone in reverse order (each within grace)
// and the error names k.
func startComponents(ctx context.Context, log *slog.Logger, table []component, grace time.Duration) (*started, error) {
	s := &started{log: log}
	for _, c := range table {
		t := time.Now()
		stop, err := c.start(ctx)
		if err != nil {
			log.Debug("component failed to start: undoing the started ones", "component", c.name, "err", err)
			if uerr := s.stop(grace); uerr != nil {
				log.Error("undoing a failed start", "err", uerr)
			}
			return nil, fmt.Errorf("cannot start %s: %w", c.name, err)
		}
		log.Debug("component started", "component", c.name, "took", time.Since(t))
		if stop != nil {
			s.steps = append(s.steps, shutdownStep{c.name, stop})
		}
	}
	return s, nil
}

// stop runs the stop steps in reverse start order, each with its own
// deadline of grace; a step that fails is logged and the next one still
// runs. Every step is logged with how long it took.
func (s *started) stop(grace time.Duration) error {
	start := time.Now()
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		t := time.Now()
		err := st.stop(ctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("cannot stop %s: %w", st.name, err))
			s.log.Error("shutdown step failed", "step", st.name, "err", err, "took", time.Since(t))
			continue
		}
		s.log.Info("shutdown step done", "step", st.name, "took", time.Since(t).Round(time.Microsecond))
	}
	s.steps = nil
	s.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// noStop is the stop step of a component whose stop never fails.
func noStop(f func()) stopFunc {
	return func(context.Context) error { f(); return nil }
}

// waitForSignal blocks until SIGINT/SIGTERM or ctx ends or a component
// fails. Until release is called (after the shutdown), a second signal
// exits at once.
func waitForSignal(ctx context.Context, log *slog.Logger, sig <-chan os.Signal, failed <-chan error) (cause error, release func()) {
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case <-ctx.Done():
		log.Info("shutting down", "reason", ctx.Err())
	case cause = <-failed:
		log.Error("shutting down after a component failed", "err", cause)
	}
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		select {
		case s := <-sig:
			log.Error("second signal: exiting now", "signal", s.String())
			os.Exit(130)
		case <-done:
		}
	}()
	return cause, func() {
		close(done)
		<-ended
	}
}

// notifySignals catches SIGINT and SIGTERM from now on, so that one
// arriving while the components start is a graceful shutdown once they
// have started rather than the runtime's default exit; stop undoes it.
func notifySignals() (sig chan os.Signal, stop func()) {
	sig = make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	return sig, func() { signal.Stop(sig) }
}
