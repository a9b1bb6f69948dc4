package rooms

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/ident"
	"github.com/wharfhq/wharf/internal/strictjson"
)

// Defaults and bounds of a Policy.
const (
	// DefaultThreshold is the healthy share below which a room is degraded
	// and starts to spill traffic.
	DefaultThreshold = 0.70
	// DefaultOverprovision is Envoy's overprovisioning factor: a degraded
	// room keeps min(1, healthy share × factor) of its weight.
	DefaultOverprovision = 1.4
	// DefaultRecoverAfter is the hysteresis: how long a degraded room must
	// stay at or above the threshold before it gets its full weight back.
	DefaultRecoverAfter = 30 * time.Second
	// MinRecoverAfter and MaxRecoverAfter bound RecoverAfter.
	MinRecoverAfter = time.Second
	MaxRecoverAfter = time.Hour
	// MaxRooms is the most rooms a policy (or a switch) may name.
	MaxRooms = 64
	// MaxWeight is the largest weight of one room.
	MaxWeight = 1000000
)

// Policy is the room policy of one service: how its traffic is split
// between rooms and how it fails over. It is stored as JSON; zero values of
// Threshold, Overprovision and RecoverAfter mean their defaults.
type Policy struct {
	// Weights is the configured weight per room, e.g. {"bj": 100, "sh": 0}.
	// Weights are relative; at least one must be positive.
	Weights map[string]int `json:"weights"`
	// Priority is the failover order: the traffic a degraded room cannot
	// serve goes to the first room of this list other than itself, which
	// keeps what it has capacity for and passes the rest down the list.
	// Only listed rooms take spilled traffic, so list a standby room
	// (weight 0) here to make it a failover target. Empty means every room
	// with a positive weight, heaviest first (ties by name), so a room
	// drained to weight 0 never takes failover traffic unless listed.
	Priority []string `json:"priority,omitempty"`
	// Threshold is the healthy share (healthy / total instances) below
	// which a room is degraded, in (0, 1]; 0 means DefaultThreshold.
	Threshold float64 `json:"threshold,omitempty"`
	// Overprovision is the factor a degraded room's healthy share is
	// multiplied by to get the fraction of its weight it keeps, in
	// [1, 10]; 0 means DefaultOverprovision.
	Overprovision float64 `json:"overprovision,omitempty"`
	// RecoverAfter is the hysteresis: once degraded, a room keeps the
	// reduced fraction it had when it was last below the threshold until
	// it has been at or above the threshold for RecoverAfter without a
	// break; only then does its full weight return. 0 means
	// DefaultRecoverAfter; otherwise between MinRecoverAfter and
	// MaxRecoverAfter.
	RecoverAfter config.Duration `json:"recover_after,omitempty"`
	// Sticky makes the gateway choose the room per client key (weighted
	// rendezvous hashing, Chooser.PickSticky) instead of at random, so a
	// client stays in its room while the weights move.
	Sticky bool `json:"sticky,omitempty"`
}

// FieldError names the field of a Policy or SwitchSpec that is wrong, as a
// JSON path: "weights.bj", "priority[1]", "steps[0].sh".
type FieldError struct{ Field, Msg string }

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParsePolicy decodes and validates a policy sent by a client. Unknown
// fields are rejected so that a typo does not silently mean a default.
func ParsePolicy(b []byte) (Policy, error) {
	var p Policy
	if err := decodeStrict(b, &p); err != nil {
		return Policy{}, fmt.Errorf("cannot parse room policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Policy{}, fmt.Errorf("cannot parse room policy: %w", err)
	}
	return p, nil
}

// decodeStrict decodes exactly one JSON value into v, rejecting unknown
// fields, duplicate keys and trailing data.
func decodeStrict(b []byte, v any) error {
	err := strictjson.Decode(b, v)
	var de *strictjson.DuplicateKeyError
	if errors.As(err, &de) {
		return &FieldError{Field: de.Path, Msg: "duplicate key; give each key once"}
	}
	return err
}

// Validate checks a policy; the error joins one *FieldError per problem.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	errs = append(errs, validateWeights("weights", p.Weights)...)
	seen := make(map[string]bool, len(p.Priority))
	for i, r := range p.Priority {
		field := fmt.Sprintf("priority[%d]", i)
		switch {
		case !ident.Name(r):
			bad(field, "room names are 1-63 of a-z, 0-9, '-', '_', got %q", r)
		case seen[r]:
			bad(field, "room %q is listed twice", r)
		}
		seen[r] = true
	}
	if n := len(p.Rooms()); n > MaxRooms {
		bad("priority", "at most %d rooms in all, got %d", MaxRooms, n)
	}
	if t := p.Threshold; t != 0 && !(t > 0 && t <= 1) {
		bad("threshold", "must be a healthy share in (0, 1], got %v", t)
	}
	if f := p.Overprovision; f != 0 && !(f >= 1 && f <= 10) {
		bad("overprovision", "must be between 1 and 10, got %v", f)
	}
	if d := p.RecoverAfter.D(); d != 0 && (d < MinRecoverAfter || d > MaxRecoverAfter) {
		bad("recover_after", "must be between %s and %s, got %s", MinRecoverAfter, MaxRecoverAfter, d)
	}
	return errors.Join(errs...)
}

// validateWeights checks a weight map: valid room names, weights in
// [0, MaxWeight], at least one positive, at most MaxRooms rooms.
func validateWeights(field string, w map[string]int) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if len(w) > MaxRooms {
		bad(field, "at most %d rooms, got %d", MaxRooms, len(w))
	}
	positive := false
	for _, r := range slices.Sorted(maps.Keys(w)) {
		switch v := w[r]; {
		case !ident.Name(r):
			bad(field+"."+r, "room names are 1-63 of a-z, 0-9, '-', '_'")
		case v < 0 || v > MaxWeight:
			bad(field+"."+r, "must be between 0 and %d, got %d", MaxWeight, v)
		case v > 0:
			positive = true
		}
	}
	if !positive {
		bad(field, "at least one room needs a positive weight")
	}
	return errs
}

// WithDefaults returns p with zero Threshold, Overprovision and
// RecoverAfter replaced by their defaults, as the API shows a policy.
func (p Policy) WithDefaults() Policy {
	p.Threshold = p.threshold()
	p.Overprovision = p.overprovision()
	p.RecoverAfter = config.Duration(p.recoverAfter())
	return p
}

// WithWeights returns a copy of p whose weights are w: the policy with
// the weights a running Switch has put in effect.
func (p Policy) WithWeights(w map[string]int) Policy {
	p.Weights = maps.Clone(w)
	p.Priority = slices.Clone(p.Priority)
	return p
}

// Rooms is every room p names, in its weights or its priority list, sorted.
func (p Policy) Rooms() []string {
	set := make(map[string]bool, len(p.Weights)+len(p.Priority))
	for r := range p.Weights {
		set[r] = true
	}
	for _, r := range p.Priority {
		set[r] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// failoverOrder is the effective priority list: Priority, or the rooms
// with a positive weight, heaviest first, ties by name.
func (p Policy) failoverOrder() []string {
	if len(p.Priority) > 0 {
		return p.Priority
	}
	var order []string
	for r, w := range p.Weights {
		if w > 0 {
			order = append(order, r)
		}
	}
	slices.SortFunc(order, func(a, b string) int {
		if p.Weights[a] != p.Weights[b] {
			return p.Weights[b] - p.Weights[a]
		}
		return cmp.Compare(a, b)
	})
	return order
}

func (p Policy) threshold() float64 {
	if p.Threshold > 0 && p.Threshold <= 1 {
		return p.Threshold
	}
	return DefaultThreshold
}

func (p Policy) overprovision() float64 {
	if p.Overprovision >= 1 && !math.IsInf(p.Overprovision, 0) {
		return p.Overprovision
	}
	return DefaultOverprovision
}

func (p Policy) recoverAfter() time.Duration {
	if d := p.RecoverAfter.D(); d > 0 {
		return d
	}
	return DefaultRecoverAfter
}

// PolicyFromConfig is the Policy a service's rooms config (the YAML file
// or the edge document) describes.
func PolicyFromConfig(c config.RoomsConfig) Policy {
	return Policy{
		Weights: maps.Clone(c.Weights), Priority: slices.Clone(c.Priority),
		Threshold: c.Threshold, Overprovision: c.Overprovision,
		RecoverAfter: c.RecoverAfter, Sticky: c.Sticky,
	}
}
