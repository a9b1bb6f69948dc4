package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Version is the schema version this package writes.
const Version = 1

// Status is the state an event reports.
type Status string

// The statuses: Open-Falcon's PROBLEM and OK, and Wharf's NODATA (a series
// that fell silent; never reported as OK).
const (
	Problem Status = "PROBLEM"
	OK      Status = "OK"
	NoData  Status = "NODATA"
)

// Reason says which rule produced an event.
type Reason string

// The reasons.
const (
	// ReasonThreshold: the condition held (PROBLEM, first or a repeat
	// below max_step) or stopped holding (OK), as in Falcon.
	ReasonThreshold Reason = "threshold"
	// ReasonRenotify: a PROBLEM past max_step repeated by renotify_every.
	ReasonRenotify Reason = "renotify"
	// ReasonRecover: an OK given by the strategy's recover condition or
	// after recover_after good evaluations.
	ReasonRecover Reason = "recover"
	// ReasonNoData: the series was silent for the strategy's nodata steps.
	ReasonNoData Reason = "nodata"
	// ReasonResolved: an OK sent because the strategy was deleted or
	// changed in a judging field (strategy.JudgingFingerprint), closing
	// the open problem before the series is judged afresh (judge.Resolve);
	// current_step 1, event_time when it was decided, left_value null.
	ReasonResolved Reason = "resolved"
)

// Value is a float64 whose JSON form is null when it is NaN or ±Inf
// (which JSON cannot carry), so that such an event is still sent.
type Value float64

// MarshalJSON writes the number, or null when it is not finite.
func (v Value) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Value(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("cannot parse value %q: %w", b, err)
	}
	*v = Value(f)
	return nil
}

// Event is one alarm event (schema Version; see the package doc).
type Event struct {
	Version     int               `json:"version"`
	ID          string            `json:"id"`
	Status      Status            `json:"status"`
	CurrentStep int               `json:"current_step"`
	EventTime   int64             `json:"event_time"`
	StrategyID  string            `json:"strategy_id"`
	Team        string            `json:"team"`
	Endpoint    string            `json:"endpoint"`
	Metric      string            `json:"metric"`
	PushedTags  map[string]string `json:"pushed_tags"`
	LeftValue   Value             `json:"left_value"`
	Func        string            `json:"func"`
	Operator    string            `json:"operator"`
	RightValue  float64           `json:"right_value"`
	MaxStep     int               `json:"max_step"`
	Priority    int               `json:"priority"`
	Note        string            `json:"note"`
	Expression  string            `json:"expression"`
	Reason      Reason            `json:"reason"`
}

// Marshal encodes e as schema Version (setting Version and a non-null
// pushed_tags).
func Marshal(e Event) ([]byte, error) {
	e.Version = Version
	if e.PushedTags == nil {
		e.PushedTags = map[string]string{}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("cannot encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// Unmarshal decodes an event and checks what a consumer relies on: a
// known schema version, an id, a status and a positive current_step.
// Unknown fields are ignored (fields are added within a version).
func Unmarshal(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("cannot decode event: %w", err)
	}
	switch {
	case e.Version < 1 || e.Version > Version:
		return Event{}, fmt.Errorf("cannot decode event: version %d is not 1..%d", e.Version, Version)
	case e.ID == "":
		return Event{}, errors.New("cannot decode event: id is empty")
	case e.Status != Problem && e.Status != OK && e.Status != NoData:
		return Event{}, fmt.Errorf("cannot decode event: status %q is not PROBLEM, OK or NODATA", e.Status)
	case e.CurrentStep < 1:
		return Event{}, fmt.Errorf("cannot decode event: current_step %d is below 1", e.CurrentStep)
	}
	return e, nil
}
