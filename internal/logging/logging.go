// Package logging builds Wharf's log/slog loggers: text or JSON, with a level,
// and a `component` attribute on every line.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// New returns a logger writing to w in format "text" or "json" at level
// "debug", "info", "warn" or "error". Credentials are masked on every line
// (see Redacting).
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("cannot parse log level %q: %w", level, err)
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(oneComponent{h: Redacting(slog.NewJSONHandler(w, ho))}), nil
	case "text", "":
		return slog.New(oneComponent{h: Redacting(slog.NewTextHandler(w, ho))}), nil
	}
	return nil, fmt.Errorf("unknown log format %q: want text or json", format)
}

// Component returns l with the component attribute set.
func Component(l *slog.Logger, name string) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return l.With(ComponentKey, name)
}

// Discard returns a logger that writes nothing.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
