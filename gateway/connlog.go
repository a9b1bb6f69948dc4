package gateway

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wharfhq/wharf/internal/redact"
)

// connLogEvery is the window in which at most connLogBurst connection
// error lines are written; the rest are counted and summed up in one line
// when the next window opens, so a flood of bad connections (a slowloris,
// a scanner) cannot flood the log.
const (
	connLogEvery = 10 * time.Second
	connLogBurst = 20
)

// fasthttpLogger routes fasthttp's own messages (connection errors) to slog,
// throttled and with credentials masked. fasthttp is told not to quote
// request heads in its errors (SecureErrorLogMessage); the masking is the
// second line of defence.
type fasthttpLogger struct {
	l *slog.Logger
	// now is the clock (tests may stub it; nil: time.Now).
	now func() time.Time

	mu         sync.Mutex
	window     time.Time
	written    int
	suppressed int
}

func newFasthttpLogger(l *slog.Logger) *fasthttpLogger {
	return &fasthttpLogger{l: l, now: time.Now}
}

// Printf implements fasthttp.Logger.
func (f *fasthttpLogger) Printf(format string, args ...any) {
	now := f.now()
	f.mu.Lock()
	var summary int
	if now.Sub(f.window) >= connLogEvery {
		summary, f.suppressed = f.suppressed, 0
		f.window, f.written = now, 0
	}
	write := f.written < connLogBurst
	if write {
		f.written++
	} else {
		f.suppressed++
	}
	f.mu.Unlock()
	if summary > 0 {
		f.l.Warn("connection error lines suppressed", "count", summary, "window", connLogEvery.String())
	}
	if write {
		f.l.Warn(redact.String(fmt.Sprintf(format, args...)))
	}
}
