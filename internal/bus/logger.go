package bus

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// discardLogger returns l, or a logger that drops everything when l is nil.
func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return l
}

// slogAdapter turns the Output(calldepth, line) loggers of nsqd and go-nsq
// into slog records, reading the level from the line's prefix.
type slogAdapter struct {
	l *slog.Logger
	// stopping, when set, reports that the owner is stopping on purpose:
	// go-nsq's "there are 0 connections left alive" is then expected.
	stopping func() bool
}

// Output implements the logger interfaces of nsqd and go-nsq.
func (a slogAdapter) Output(_ int, s string) error {
	level, msg := splitLevel(strings.TrimSpace(s))
	if level == slog.LevelError && strings.Contains(msg, "use of closed network connection") {
		// nsqd reports its own clean shutdown of client connections as an error.
		level = slog.LevelDebug
	}
	if level == slog.LevelWarn && strings.Contains(msg, "connections left alive") && a.stopping != nil && a.stopping() {
		// A consumer being stopped closes its connections itself.
		level = slog.LevelDebug
	}
	if level == slog.LevelError && strings.Contains(msg, probeTopic) {
		// A producer's probe (see probe): the refusal is the expected answer.
		level = slog.LevelDebug
	}
	a.l.Log(context.Background(), level, msg)
	return nil
}

// splitLevel reads the level prefix nsqd ("WARNING: ") or go-nsq ("WRN ")
// puts in front of a line.
func splitLevel(s string) (slog.Level, string) {
	prefixes := [...]struct {
		prefix string
		level  slog.Level
	}{
		{"DEBUG: ", slog.LevelDebug}, {"INFO: ", slog.LevelInfo}, {"WARNING: ", slog.LevelWarn},
		{"ERROR: ", slog.LevelError}, {"FATAL: ", slog.LevelError},
		{"DBG ", slog.LevelDebug}, {"INF ", slog.LevelInfo}, {"WRN ", slog.LevelWarn},
		{"ERR ", slog.LevelError},
	}
	for _, p := range prefixes {
		if rest, ok := strings.CutPrefix(s, p.prefix); ok {
			return p.level, strings.TrimSpace(rest)
		}
	}
	return slog.LevelInfo, s
}
