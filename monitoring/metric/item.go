package metric

import (
	"errors"
	"math"
	"strconv"
)

// Counter types Falcon accepts.
const (
	Gauge   = "GAUGE"
	Counter = "COUNTER"
	Derive  = "DERIVE"
)

// DefaultMinStep is Falcon's smallest step (seconds); a smaller step is raised to it.
const DefaultMinStep = 30

// MaxMetricTagsLen is Falcon's limit of len(metric)+len(tags).
const MaxMetricTagsLen = 510

// MaxEndpointLen is Wharf's limit of an endpoint (Falcon has none): a
// point must fit an NSQ message whatever the body limit.
const MaxEndpointLen = 1024

// ValueKind is the JSON type a pushed value had.
type ValueKind uint8

// The kinds of a pushed value.
const (
	// ValueNone: the value was absent or null.
	ValueNone ValueKind = iota
	// ValueNumber: a JSON number (Num holds it; NumOK false when out of float64 range).
	ValueNumber
	// ValueString: a JSON string (Str holds it, to be parsed as a float).
	ValueString
	// ValueOther: true, false, an object or an array.
	ValueOther
)

// Item is one element of a push as sent, before validation.
type Item struct {
	Endpoint    string
	Metric      string
	CounterType string
	// Tags is the tag string as pushed: "k1=v1,k2=v2".
	Tags      string
	Timestamp int64
	Step      int64
	Kind      ValueKind
	Num       float64
	NumOK     bool
	Str       string
	// Null is set for an array element that was JSON null (Falcon counts it invalid).
	Null bool
}

// Reasons an item is invalid (Falcon's transfer counts them and stores nothing).
var (
	ErrNull         = errors.New("item is null")
	ErrHostname     = errors.New("metric kernel.hostname is not accepted (its value is a string)")
	ErrNoEndpoint   = errors.New("endpoint and metric must not be empty")
	ErrCounterType  = errors.New("counterType must be GAUGE, COUNTER or DERIVE")
	ErrNoValue      = errors.New("value must not be empty")
	ErrStep         = errors.New("step must be above 0")
	ErrTooLong      = errors.New("metric and tags together must be at most 510 bytes")
	ErrEndpointLong = errors.New("endpoint must be at most 1024 bytes")
	ErrValueNumeric = errors.New("value must be a number or a numeric string")
)

// Rules are the ingest settings validation applies.
type Rules struct {
	// MinStep raises smaller steps to it. 0: DefaultMinStep.
	MinStep int64
}

// Validate checks it as Falcon's transfer does and returns the point it
// becomes: a timestamp <= 0 or beyond 2×now becomes now, the step is raised
// to MinStep, the time is aligned to the step (ts - ts%step) and the tags
// are put in Falcon's canonical order. The error is one of the Err values.
func (r Rules) Validate(it *Item, now int64) (Point, error) {
	switch {
	case it.Null:
		return Point{}, ErrNull
	case it.Metric == "kernel.hostname":
		return Point{}, ErrHostname
	case it.Metric == "" || it.Endpoint == "":
		return Point{}, ErrNoEndpoint
	case it.CounterType != Gauge && it.CounterType != Counter && it.CounterType != Derive:
		return Point{}, ErrCounterType
	case it.Kind == ValueString && it.Str == "":
		return Point{}, ErrNoValue
	case it.Step <= 0:
		return Point{}, ErrStep
	case len(it.Metric)+len(it.Tags) > MaxMetricTagsLen:
		return Point{}, ErrTooLong
	case len(it.Endpoint) > MaxEndpointLen:
		return Point{}, ErrEndpointLong
	}
	var v float64
	switch it.Kind {
	case ValueNumber:
		if !it.NumOK {
			return Point{}, ErrValueNumeric
		}
		v = it.Num
	case ValueString:
		f, err := strconv.ParseFloat(it.Str, 64)
		if err != nil {
			return Point{}, ErrValueNumeric
		}
		v = f
	default:
		return Point{}, ErrValueNumeric
	}
	ts := it.Timestamp
	if ts <= 0 || ts > 2*now {
		ts = now
	}
	step := it.Step
	minStep := r.MinStep
	if minStep <= 0 {
		minStep = DefaultMinStep
	}
	if step < minStep {
		step = minStep
	}
	return Point{
		Endpoint: it.Endpoint, Metric: it.Metric, Tags: CanonicalTags(it.Tags),
		CounterType: it.CounterType, Step: step, Time: ts - ts%step, Value: v,
	}, nil
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
