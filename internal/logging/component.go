package logging

import (
	"context"
	"log/slog"
)

// ComponentKey is the attribute naming the part of Wharf a line comes from.
const ComponentKey = "component"

// oneComponent is a slog.Handler that keeps one component attribute per
// line, the innermost: a component handing its logger to a part of its
// own (the agent to its release manager, say) makes "component=release",
// not "component=agent component=release".
type oneComponent struct {
	h    slog.Handler
	comp string // set by the latest With(ComponentKey, ...) before any group
}

func (c oneComponent) Enabled(ctx context.Context, l slog.Level) bool { return c.h.Enabled(ctx, l) }

func (c oneComponent) Handle(ctx context.Context, r slog.Record) error {
	if c.comp != "" {
		r = r.Clone()
		r.AddAttrs(slog.String(ComponentKey, c.comp))
	}
	return c.h.Handle(ctx, r)
}

func (c oneComponent) WithAttrs(attrs []slog.Attr) slog.Handler {
	rest := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if a.Key == ComponentKey && a.Value.Kind() == slog.KindString {
			c.comp = a.Value.String()
			continue
		}
		rest = append(rest, a)
	}
	if len(rest) > 0 {
		c.h = c.h.WithAttrs(rest)
	}
	return c
}

// WithGroup writes the component before the group opens, so that it stays
// a top-level attribute.
func (c oneComponent) WithGroup(name string) slog.Handler {
	h := c.h
	if c.comp != "" {
		h = h.WithAttrs([]slog.Attr{slog.String(ComponentKey, c.comp)})
	}
	return oneComponent{h: h.WithGroup(name)}
}
