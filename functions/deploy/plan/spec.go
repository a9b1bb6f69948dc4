package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/ident"
	"github.com/wharfhq/wharf/internal/strictjson"
)

// Defaults and bounds of a Spec.
const (
	// MaxTargets is the most targets one deploy may have.
	MaxTargets = 1000
	// MaxSelectors is the most entries of each selector list
	// (targets.rooms, targets.labels, targets.hosts).
	MaxSelectors = 256
	// MaxCanarySteps is the most steps of a canary.
	MaxCanarySteps = 20
	// MaxWhy is the longest reason, in bytes.
	MaxWhy = 1024
	// DefaultMaxUnavailable is how many targets may be in progress
	// (downloading or starting) at once when max_unavailable is not given.
	DefaultMaxUnavailable = 1
	// DefaultGateWindow is how long the error rate of a step is observed
	// after all its targets are healthy; MinGateWindow and MaxGateWindow
	// bound it.
	DefaultGateWindow = 30 * time.Second
	MinGateWindow     = 5 * time.Second
	MaxGateWindow     = time.Hour
	// DefaultMinRequests is the fewest requests in the window for the
	// error rate to count; MaxMinRequests bounds it.
	DefaultMinRequests = 20
	MaxMinRequests     = 1_000_000_000
	// DefaultStepTimeout is how long a step's targets may take to become
	// healthy; MinStepTimeout and MaxStepTimeout bound it.
	DefaultStepTimeout = 10 * time.Minute
	MinStepTimeout     = time.Minute
	MaxStepTimeout     = 24 * time.Hour
	// DefaultTaskTimeout is how long one target's task may take from
	// being sent to a terminal event; MinTaskTimeout and MaxTaskTimeout
	// bound it.
	DefaultTaskTimeout = 5 * time.Minute
	MinTaskTimeout     = 30 * time.Second
	MaxTaskTimeout     = time.Hour
	// MinPause and MaxPause bound a timed pause between steps.
	MinPause = time.Second
	MaxPause = 24 * time.Hour
)

// StrategyKind names a rollout strategy.
type StrategyKind string

// Strategies.
const (
	// KindAll is one step with every target (still at most
	// max_unavailable in progress at once).
	KindAll StrategyKind = "all"
	// KindRolling is consecutive batches of strategy.batch targets, each
	// a step with its own health gate.
	KindRolling StrategyKind = "rolling"
	// KindCanary is steps reaching cumulative percentages of the targets
	// (strategy.steps, e.g. [10, 50, 100]).
	KindCanary StrategyKind = "canary"
)

// Spec is a deploy request, the body of POST /api/v1/apps/{app}/deploys.
type Spec struct {
	// Version is the artifact version to deploy: 1-128 of A-Z a-z 0-9
	// . _ - +, starting with a letter or digit (catalog.ValidVersion).
	Version string `json:"version"`
	// Why is the operator's reason, at most MaxWhy bytes.
	Why string `json:"why,omitempty"`
	// Targets selects the hosts (see SelectTargets).
	Targets Targets `json:"targets"`
	// Strategy is how the targets are split into steps; the zero
	// Strategy is KindAll.
	Strategy Strategy `json:"strategy,omitzero"`
	// MaxUnavailable bounds how many targets are in progress at once,
	// as a count or a percentage of all targets (rounded up, at least 1);
	// zero means DefaultMaxUnavailable.
	MaxUnavailable Amount `json:"max_unavailable,omitzero"`
	// Health adds an error-rate gate to the manifest's health check.
	Health Health `json:"health,omitzero"`
	// AutoRollback moves the targets already moved back to the previous
	// version when a step fails or the deploy is aborted; nil means true.
	AutoRollback *bool `json:"auto_rollback,omitempty"`
	// Timeouts bound steps and tasks.
	Timeouts Timeouts `json:"timeouts,omitzero"`
	// Strict refuses the deploy (a *FieldError on the strategy) when the
	// strategy cannot be honoured on the selected hosts (Warnings),
	// instead of starting it with warnings.
	Strict bool `json:"strict,omitempty"`
}

// Targets selects hosts. Either All, or at least one of Rooms, Labels
// and Hosts; the lists narrow each other (a host must match every list
// given).
type Targets struct {
	// All selects every live host of the app; it excludes the lists.
	All bool `json:"all,omitempty"`
	// Rooms: the host is in one of these rooms.
	Rooms []string `json:"rooms,omitempty"`
	// Labels: the host has all of these labels.
	Labels []string `json:"labels,omitempty"`
	// Hosts: the host is one of these ids.
	Hosts []string `json:"hosts,omitempty"`
}

// Strategy is how the targets are split into steps (see Plan).
type Strategy struct {
	// Kind is all, rolling or canary; empty means all.
	Kind StrategyKind `json:"kind,omitempty"`
	// Batch is the size of a rolling batch: a count or a percentage of
	// the targets (rounded up). Rolling only, required there.
	Batch Amount `json:"batch,omitzero"`
	// Steps are the cumulative percentages of the targets a canary
	// reaches, strictly increasing, the last 100. Canary only, required
	// there.
	Steps []int `json:"steps,omitempty"`
	// Pause is the wait after each step but the last: a duration, or
	// "manual" to wait for Resume. Rolling and canary only.
	Pause Pause `json:"pause,omitzero"`
}

// Health is the error-rate gate of each step, on top of the manifest's
// health check that the agent runs before it reports a target healthy.
type Health struct {
	// ErrorRateMax, in (0, 1], fails a step whose new-version error rate
	// at the gateway exceeds it during Window after all its targets are
	// healthy. Zero means no error-rate gate.
	ErrorRateMax float64 `json:"error_rate_max,omitempty"`
	// Window is how long the error rate is observed (0: DefaultGateWindow).
	Window wire.Duration `json:"window,omitempty"`
	// MinRequests is the fewest requests in the window for the error
	// rate to count (0: DefaultMinRequests); with fewer the gate passes.
	MinRequests int `json:"min_requests,omitempty"`
}

// Timeouts bound a deploy's steps and tasks; zero means the default.
type Timeouts struct {
	// Step is how long a step's targets may take to become healthy.
	Step wire.Duration `json:"step,omitempty"`
	// Task is how long one task may take from being sent to a terminal
	// event.
	Task wire.Duration `json:"task,omitempty"`
}

// FieldError names the field of a Spec (or Record, or Event) that is
// wrong, as a JSON path: "strategy.steps[1]", "targets.hosts[0]".
type FieldError struct{ Field, Msg string }

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParseSpec decodes and validates a deploy request sent by a client.
// Unknown fields and trailing data are rejected, so that a typo does not
// silently mean a default.
func ParseSpec(b []byte) (Spec, error) {
	var s Spec
	if err := decodeStrict(b, &s); err != nil {
		return Spec{}, fmt.Errorf("cannot parse deploy: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("cannot parse deploy: %w", err)
	}
	return s, nil
}

// decodeStrict decodes exactly one JSON value into v, rejecting unknown
// fields and trailing data. A value of the wrong type comes back as a
// *FieldError naming its field.
func decodeStrict(b []byte, v any) error { return decode(b, v, true) }

// decode decodes exactly one JSON value into v, rejecting trailing data
// and, if strict, unknown fields.
func decode(b []byte, v any, strict bool) error {
	d := strictjson.Decode
	if !strict {
		d = strictjson.DecodeLenient
	}
	if err := d(b, v); err != nil {
		var te *json.UnmarshalTypeError
		var de *strictjson.DuplicateKeyError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return &FieldError{Field: te.Field, Msg: "want " + want(te.Type) + ", got " + te.Value}
		case errors.As(err, &de):
			return &FieldError{Field: de.Path, Msg: "duplicate key; give each key once"}
		}
		return err
	}
	return nil
}

// Validate checks a spec; the error joins one *FieldError per problem.
func (s Spec) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !ValidVersion(s.Version) {
		bad("version", "use 1-128 of A-Z, a-z, 0-9, '.', '_', '-', '+', starting with a letter or digit, got %q", s.Version)
	}
	if len(s.Why) > MaxWhy {
		bad("why", "at most %d bytes", MaxWhy)
	}
	errs = append(errs, s.Targets.validate()...)
	errs = append(errs, s.Strategy.validate()...)
	if m := s.MaxUnavailable; !m.IsZero() {
		if msg := m.check(MaxTargets); msg != "" {
			bad("max_unavailable", "%s", msg)
		}
	}
	h := s.Health
	if r := h.ErrorRateMax; r != 0 && !(r > 0 && r <= 1) {
		bad("health.error_rate_max", "must be a fraction in (0, 1], got %v", r)
	}
	if d := h.Window.D(); d != 0 && (d < MinGateWindow || d > MaxGateWindow) {
		bad("health.window", "must be between %s and %s, got %s", MinGateWindow, MaxGateWindow, d)
	}
	if n := h.MinRequests; n < 0 || n > MaxMinRequests {
		bad("health.min_requests", "must be between 1 and %d, got %d", MaxMinRequests, n)
	}
	if d := s.Timeouts.Step.D(); d != 0 && (d < MinStepTimeout || d > MaxStepTimeout) {
		bad("timeouts.step", "must be between %s and %s, got %s", MinStepTimeout, MaxStepTimeout, d)
	}
	if d := s.Timeouts.Task.D(); d != 0 && (d < MinTaskTimeout || d > MaxTaskTimeout) {
		bad("timeouts.task", "must be between %s and %s, got %s", MinTaskTimeout, MaxTaskTimeout, d)
	} else if s.taskTimeout() > s.stepTimeout() {
		bad("timeouts.task", "must not exceed the step timeout %s, got %s", s.stepTimeout(), s.taskTimeout())
	}
	return errors.Join(errs...)
}

func (t Targets) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	lists := len(t.Rooms) + len(t.Labels) + len(t.Hosts)
	switch {
	case t.All && lists > 0:
		bad("targets.all", "select all hosts or name rooms, labels or hosts, not both")
	case !t.All && lists == 0:
		bad("targets", "name rooms, labels or hosts, or say all: true")
	}
	list := func(name string, items []string, valid func(string) bool, rule string) {
		if len(items) > MaxSelectors {
			bad("targets."+name, "at most %d entries, got %d", MaxSelectors, len(items))
			return
		}
		seen := make(map[string]bool, len(items))
		for i, v := range items {
			field := fmt.Sprintf("targets.%s[%d]", name, i)
			switch {
			case !valid(v):
				bad(field, "%s, got %q", rule, v)
			case seen[v]:
				bad(field, "%q is listed twice", v)
			}
			seen[v] = true
		}
	}
	list("rooms", t.Rooms, ident.Name, "room names are 1-63 of a-z, 0-9, '-', '_'")
	list("labels", t.Labels, validLabel, "labels are 1-128 of A-Z, a-z, 0-9, '.', '_', '-', ':', '/', '='")
	list("hosts", t.Hosts, validHostID, "host ids are 1-128 of A-Z, a-z, 0-9, '.', '_', '-', ':'")
	return errs
}

func (s Strategy) validate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	kind := s.kind()
	switch kind {
	case KindAll, KindRolling, KindCanary:
	default:
		bad("strategy.kind", "must be all, rolling or canary, got %q", s.Kind)
	}
	switch {
	case kind == KindRolling && s.Batch.IsZero():
		bad("strategy.batch", "a rolling deploy needs a batch size, a count or a percentage like \"25%%\"")
	case kind == KindRolling:
		if msg := s.Batch.check(MaxTargets); msg != "" {
			bad("strategy.batch", "%s", msg)
		}
	case !s.Batch.IsZero():
		bad("strategy.batch", "only a rolling deploy has batches")
	}
	switch {
	case kind == KindCanary && len(s.Steps) == 0:
		bad("strategy.steps", "a canary needs steps, cumulative percentages like [10, 50, 100]")
	case kind == KindCanary && len(s.Steps) > MaxCanarySteps:
		bad("strategy.steps", "at most %d steps, got %d", MaxCanarySteps, len(s.Steps))
	case kind == KindCanary:
		prev := 0
		for i, p := range s.Steps {
			field := fmt.Sprintf("strategy.steps[%d]", i)
			switch {
			case p <= prev || p > 100:
				bad(field, "must be a percentage in (%d, 100], above the step before, got %d", prev, p)
			case i == len(s.Steps)-1 && p != 100:
				bad(field, "the last step must reach 100, got %d", p)
			}
			prev = max(prev, p)
		}
	case len(s.Steps) > 0:
		bad("strategy.steps", "only a canary has steps")
	}
	switch p := s.Pause; {
	case p.IsZero():
	case kind == KindAll:
		bad("strategy.pause", "a deploy of kind all has one step and nothing to pause between")
	case !p.Manual && (p.D < MinPause || p.D > MaxPause):
		bad("strategy.pause", "must be \"manual\" or between %s and %s, got %s", MinPause, MaxPause, p.D)
	}
	return errs
}

// check returns what is wrong with a as a count (1 to maxCount) or a
// percentage (1 to 100), or "".
func (a Amount) check(maxCount int) string {
	switch {
	case a.Percent && (a.N < 1 || a.N > 100):
		return fmt.Sprintf("a percentage must be between 1%% and 100%%, got %d%%", a.N)
	case !a.Percent && (a.N < 1 || a.N > maxCount):
		return fmt.Sprintf("a count must be between 1 and %d, got %d", maxCount, a.N)
	}
	return ""
}

// WithDefaults returns s with every default filled in, as a Record keeps
// it: kind all, max_unavailable 1, window, min_requests, timeouts and
// auto_rollback.
func (s Spec) WithDefaults() Spec {
	s.Strategy.Kind = s.Strategy.kind()
	s.Strategy.Steps = append([]int(nil), s.Strategy.Steps...)
	if s.MaxUnavailable.IsZero() {
		s.MaxUnavailable = Count(DefaultMaxUnavailable)
	}
	s.Health.Window = wire.Duration(s.gateWindow())
	s.Health.MinRequests = s.minRequests()
	s.Timeouts = Timeouts{Step: wire.Duration(s.stepTimeout()), Task: wire.Duration(s.taskTimeout())}
	rollback := s.autoRollback()
	s.AutoRollback = &rollback
	s.Targets.Rooms = append([]string(nil), s.Targets.Rooms...)
	s.Targets.Labels = append([]string(nil), s.Targets.Labels...)
	s.Targets.Hosts = append([]string(nil), s.Targets.Hosts...)
	return s
}

func (s Strategy) kind() StrategyKind {
	if s.Kind == "" {
		return KindAll
	}
	return s.Kind
}

func (s Spec) autoRollback() bool { return s.AutoRollback == nil || *s.AutoRollback }

func (s Spec) gateWindow() time.Duration {
	if d := s.Health.Window.D(); d > 0 {
		return d
	}
	return DefaultGateWindow
}

func (s Spec) minRequests() int {
	if n := s.Health.MinRequests; n > 0 {
		return n
	}
	return DefaultMinRequests
}

func (s Spec) stepTimeout() time.Duration {
	if d := s.Timeouts.Step.D(); d > 0 {
		return d
	}
	return DefaultStepTimeout
}

func (s Spec) taskTimeout() time.Duration {
	if d := s.Timeouts.Task.D(); d > 0 {
		return d
	}
	return DefaultTaskTimeout
}

// ValidVersion reports whether s can be a version (internal/ident.Version).
func ValidVersion(s string) bool { return ident.Version(s) }

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// validHostID is the registry's rule for instance and host ids.
func validHostID(s string) bool { return wire.ValidHostID(s) }

func validLabel(s string) bool { return validToken(s, "._-:/=") }

func validToken(s, extra string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && !strings.ContainsRune(extra, rune(c)) {
			return false
		}
	}
	return true
}
