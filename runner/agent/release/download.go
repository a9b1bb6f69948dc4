package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"
)

// copyBufSize is the buffer of one download's copy.
const copyBufSize = 256 << 10

// download fetches src into f, retrying network errors, timeouts and
// temporary statuses with back-off. It returns the size and sha256 (hex)
// of the last, successful attempt.
func (m *Manager) download(ctx context.Context, log *slog.Logger, f *os.File, src Source) (int64, string, error) {
	buf := make([]byte, copyBufSize)
	for attempt := 1; ; attempt++ {
		n, sum, err := m.attempt(ctx, f, src, buf)
		if err == nil {
			if attempt > 1 {
				log.Info("download succeeded after retries", "attempts", attempt)
			}
			return n, sum, nil
		}
		if ctx.Err() != nil {
			return 0, "", fmt.Errorf("cannot download bundle: %w", context.Cause(ctx))
		}
		if !retryable(err) || attempt > m.opts.Retries {
			return 0, "", fmt.Errorf("cannot download bundle (attempt %d of %d): %w", attempt, m.opts.Retries+1, err)
		}
		wait := m.backoff(attempt)
		log.Warn("download failed, retrying", "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, "", fmt.Errorf("cannot download bundle: %w (last error: %w)", context.Cause(ctx), err)
		}
	}
}

// errTooBig: the download is larger than Options.MaxDownload.
var errTooBig = errors.New("download too large")

// attempt is one download into f (emptied first) under its own timeout.
func (m *Manager) attempt(ctx context.Context, f *os.File, src Source, buf []byte) (int64, string, error) {
	if err := f.Truncate(0); err != nil {
		return 0, "", fmt.Errorf("cannot reset download file: %w", permanent(err))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", fmt.Errorf("cannot reset download file: %w", permanent(err))
	}
	actx, cancel := context.WithTimeoutCause(ctx, m.opts.DownloadTimeout,
		fmt.Errorf("download attempt timed out after %v: %w", m.opts.DownloadTimeout, context.DeadlineExceeded))
	defer cancel()
	rc, err := src.Open(actx)
	if err != nil {
		return 0, "", timedOut(actx, err)
	}
	defer rc.Close()
	h := sha256.New()
	w := &hashWriter{f: f, h: h}
	limit := m.opts.MaxDownload
	n, err := io.CopyBuffer(w, io.LimitReader(rc, limit+1), buf)
	switch {
	case w.err != nil:
		return 0, "", fmt.Errorf("cannot write download file: %w", permanent(w.err))
	case err != nil:
		return 0, "", fmt.Errorf("cannot read bundle after %d bytes: %w", n, timedOut(actx, err))
	case n > limit:
		return 0, "", permanent(fmt.Errorf("%w: %w: more than %d bytes", ErrBadBundle, errTooBig, limit))
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// timedOut names the attempt's timeout when it caused err.
func timedOut(actx context.Context, err error) error {
	if cause := context.Cause(actx); cause != nil && !errors.Is(err, cause) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

// hashWriter writes to the file and the hash, keeping the file's error
// apart from the source's.
type hashWriter struct {
	f   *os.File
	h   io.Writer
	err error
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
		return n, err
	}
	w.h.Write(p)
	return n, nil
}

// permanentError marks an error no retry can fix (a local disk error, an
// oversize bundle).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err: err} }

// retryable reports whether a failed attempt is worth another: network
// errors and timeouts are, a *StatusError when Temporary, local errors not.
func retryable(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	return true
}

// backoff is the wait after the attempt-th failure: Backoff doubled per
// retry up to MaxBackoff, then 50% to 100% of that at random.
func (m *Manager) backoff(attempt int) time.Duration {
	d := m.opts.Backoff
	for i := 1; i < attempt && d < MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, MaxBackoff)
	return d/2 + rand.N(d/2+1)
}
