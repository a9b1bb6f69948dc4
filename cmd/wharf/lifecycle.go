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

// shutdownStep is one named step of a graceful shutdown.
type shutdownStep struct {
	name string
	fn   func(ctx context.Context) error
}

// shutdown runs its steps in the order they were added, all within one grace
// period; a step that fails is logged and the next one still runs.
type shutdown struct {
	steps []shutdownStep
	log   *slog.Logger
}

func (s *shutdown) add(name string, fn func(ctx context.Context) error) {
	s.steps = append(s.steps, shutdownStep{name, fn})
}

func (s *shutdown) run(grace time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	start := time.Now()
	var errs []error
	for _, st := range s.steps {
		t := time.Now()
		err := st.fn(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st.name, err))
			s.log.Error("shutdown step failed", "step", st.name, "err", err, "took", time.Since(t))
			continue
		}
		s.log.Debug("shutdown step done", "step", st.name, "took", time.Since(t))
	}
	s.log.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

// waitForSignal blocks until SIGINT/SIGTERM or ctx ends or a component fails.
// A second signal while shutting down exits at once.
func waitForSignal(ctx context.Context, log *slog.Logger, failed <-chan error) error {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	var cause error
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case <-ctx.Done():
		log.Info("shutting down", "reason", ctx.Err())
	case cause = <-failed:
		log.Error("shutting down after a component failed", "err", cause)
	}
	go func() {
		s := <-sig
		log.Error("second signal: exiting now", "signal", s.String())
		os.Exit(130)
	}()
	return cause
}
