package logging

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wharfhq/wharf/internal/redact"
)

// redacting is a slog.Handler that masks credentials (see internal/redact)
// in the message and in every attribute before the wrapped handler writes
// them: a token that reaches a log call by mistake — in an error's text, a
// request head, a URL — never reaches the log.
type redacting struct{ h slog.Handler }

// Redacting wraps h so that no credential is written through it.
func Redacting(h slog.Handler) slog.Handler { return redacting{h} }

func (r redacting) Enabled(ctx context.Context, l slog.Level) bool { return r.h.Enabled(ctx, l) }

func (r redacting) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, redact.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = redactAttr(a)
	}
	return redacting{r.h.WithAttrs(clean)}
}

func (r redacting) WithGroup(name string) slog.Handler { return redacting{r.h.WithGroup(name)} }

// redactAttr masks credentials in a's value, and drops the value of an
// attribute whose key names a credential.
func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = redactAttr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindString:
		return slog.String(a.Key, redact.Value(a.Key, v.String()))
	case slog.KindAny:
		x := v.Any()
		var s string
		switch x := x.(type) {
		case error:
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprint(x)
		}
		if c := redact.String(s); c != s {
			return slog.String(a.Key, c)
		}
		return slog.Attr{Key: a.Key, Value: v}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
