package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Status is where an experiment is in its life: draft → running → stopped.
type Status string

// Statuses.
const (
	Draft   Status = "draft"
	Running Status = "running"
	Stopped Status = "stopped"
)

// Defaults of an experiment.
const (
	DefaultHashVersion   = 2
	DefaultHashAttribute = "id"
	// MaxVariations caps the variations of one experiment.
	MaxVariations = 20
	// MaxForced caps the forced assignments of one experiment.
	MaxForced = 1000
	// MaxValueBytes caps the JSON value of one variation.
	MaxValueBytes = 16 << 10
)

// Variation is one arm of an experiment.
type Variation struct {
	// Name labels the arm ("control", "blue").
	Name string `json:"name"`
	// Weight is the arm's share of the covered units; the weights of an
	// experiment sum to 1.
	Weight float64 `json:"weight"`
	// Value is any JSON, served with the decision (usable as dynamic
	// config); default null.
	Value json.RawMessage `json:"value,omitempty"`
}

// Experiment is one A/B test.
type Experiment struct {
	Key  string `json:"key"`
	Team string `json:"team"`
	// Layer is the name of the layer (of the same team) the experiment
	// runs in, with Range its buckets [start, end) of the layer's 10,000.
	// Without a layer the experiment sees every unit.
	Layer string `json:"layer,omitempty"`
	Range [2]int `json:"range"`
	// Seed is the hashing seed; default the key.
	Seed string `json:"seed"`
	// HashVersion is GrowthBook's hash version, 1 or 2 (default 2).
	HashVersion int `json:"hash_version"`
	// HashAttribute is the attribute hashed (default "id", which the
	// unit of a decision sets); FallbackAttribute is hashed when it is
	// missing or empty.
	HashAttribute     string      `json:"hash_attribute"`
	FallbackAttribute string      `json:"fallback_attribute,omitempty"`
	Variations        []Variation `json:"variations"`
	// Coverage is the share of the layer range's units in the
	// experiment, 0 to 1 (default 1).
	Coverage float64 `json:"coverage"`
	// Condition is a GrowthBook targeting condition on the attributes.
	Condition map[string]any `json:"condition,omitempty"`
	// Forced maps a hash attribute value (an allow-list of ids) to the
	// variation it always gets while the experiment runs.
	Forced map[string]int `json:"forced,omitempty"`
	// Holdout is a share of the units (0 to 0.5) kept out of the
	// experiment and served the control's value, to measure the whole
	// program against.
	Holdout float64 `json:"holdout,omitempty"`
	Status  Status  `json:"status"`
	// BucketVersion is bumped by an explicit reassignment: it changes the
	// effective seed, so every unit is hashed anew.
	BucketVersion int `json:"bucket_version"`
	Audit
	// History is the audit trail of the experiment's changes, oldest
	// first (the last MaxHistory).
	History []HistoryEntry `json:"history,omitempty"`
}

// MaxHistory caps the audit trail kept with an experiment.
const MaxHistory = 100

// HistoryEntry is one audited change.
type HistoryEntry struct {
	Revision int       `json:"revision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	// Action is create, start, stop, ramp or reassign; Detail says what
	// changed.
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
}

// Record touches the audit fields and appends the change to History.
func (e *Experiment) Record(who string, now time.Time, action, detail string) {
	e.Touch(who, now)
	e.History = append(e.History, HistoryEntry{Revision: e.Revision, By: who, At: now, Action: action, Detail: detail})
	if n := len(e.History); n > MaxHistory {
		e.History = append([]HistoryEntry(nil), e.History[n-MaxHistory:]...)
	}
}

// Normalize fills the defaults of e (seed, hash version and attribute,
// coverage, status, ranges of an experiment without a layer).
func (e *Experiment) Normalize() {
	if e.Seed == "" {
		e.Seed = e.Key
	}
	if e.HashVersion == 0 {
		e.HashVersion = DefaultHashVersion
	}
	if e.HashAttribute == "" {
		e.HashAttribute = DefaultHashAttribute
	}
	if e.Status == "" {
		e.Status = Draft
	}
	if e.Layer == "" && e.Range == [2]int{} {
		e.Range = [2]int{0, Buckets}
	}
}

// EffectiveSeed is the seed hashed: Seed, with ":v<n>" once the bucket
// version is n > 0.
func (e Experiment) EffectiveSeed() string {
	if e.BucketVersion == 0 {
		return e.Seed
	}
	return e.Seed + ":v" + strconv.Itoa(e.BucketVersion)
}

// Weights returns the variations' weights.
func (e Experiment) Weights() []float64 {
	w := make([]float64, len(e.Variations))
	for i, v := range e.Variations {
		w[i] = v.Weight
	}
	return w
}

// Validate returns every invalid field of e (after Normalize).
func (e Experiment) Validate() fielderr.List {
	var errs fielderr.List
	if !ValidKey(e.Key) {
		errs.Add("key", "must be 1-63 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit")
	}
	if !auth.ValidName(e.Team) {
		errs.Add("team", "must be a valid team name")
	}
	if e.Layer != "" && !ValidKey(e.Layer) {
		errs.Add("layer", "must be a layer name")
	}
	if e.Range[0] < 0 || e.Range[1] > Buckets || e.Range[0] >= e.Range[1] {
		errs.Add("range", fmt.Sprintf("must be [start, end) with 0 <= start < end <= %d", Buckets))
	}
	if e.Seed == "" || len(e.Seed) > 200 {
		errs.Add("seed", "must be 1-200 characters")
	}
	if e.HashVersion != 1 && e.HashVersion != 2 {
		errs.Add("hash_version", "must be 1 or 2")
	}
	if len(e.HashAttribute) > 100 {
		errs.Add("hash_attribute", "must be at most 100 characters")
	}
	if len(e.FallbackAttribute) > 100 {
		errs.Add("fallback_attribute", "must be at most 100 characters")
	}
	errs = append(errs, validateVariations(e.Variations)...)
	if !(e.Coverage >= 0 && e.Coverage <= 1) {
		errs.Add("coverage", "must be between 0 and 1")
	}
	if !(e.Holdout >= 0 && e.Holdout <= 0.5) {
		errs.Add("holdout", "must be between 0 and 0.5")
	}
	if len(e.Forced) > MaxForced {
		errs.Add("forced", fmt.Sprintf("must hold at most %d ids", MaxForced))
	}
	for id, v := range e.Forced {
		if id == "" || len(id) > 200 {
			errs.Add("forced", "ids must be 1-200 characters")
		}
		if v < 0 || v >= len(e.Variations) {
			errs.Add("forced."+id, fmt.Sprintf("must be a variation index 0-%d", max(len(e.Variations)-1, 0)))
		}
	}
	switch e.Status {
	case Draft, Running, Stopped:
	default:
		errs.Add("status", "must be draft, running or stopped")
	}
	if e.BucketVersion < 0 {
		errs.Add("bucket_version", "must not be negative")
	}
	return errs
}

// validateVariations checks 2-20 variations whose weights are in [0, 1]
// and sum to 1 (within 0.001).
func validateVariations(vs []Variation) fielderr.List {
	var errs fielderr.List
	if len(vs) < 2 || len(vs) > MaxVariations {
		errs.Add("variations", fmt.Sprintf("must hold 2-%d variations", MaxVariations))
		return errs
	}
	sum := 0.0
	for i, v := range vs {
		f := fmt.Sprintf("variations[%d]", i)
		if len(v.Name) > 100 {
			errs.Add(f+".name", "must be at most 100 characters")
		}
		if !(v.Weight >= 0 && v.Weight <= 1) {
			errs.Add(f+".weight", "must be between 0 and 1")
		}
		sum += v.Weight
		if len(v.Value) > MaxValueBytes {
			errs.Add(f+".value", fmt.Sprintf("must be at most %d bytes of JSON", MaxValueBytes))
		} else if len(v.Value) > 0 && !json.Valid(v.Value) {
			errs.Add(f+".value", "must be JSON")
		}
	}
	if math.Abs(sum-1) > 0.001 {
		errs.Add("variations", fmt.Sprintf("weights must sum to 1, not %g", sum))
	}
	return errs
}

// CanTransition reports whether an experiment may go from status a to b:
// draft → running → stopped, and stopped → running to resume.
func CanTransition(a, b Status) bool {
	switch {
	case a == Draft && b == Running, a == Running && b == Stopped, a == Stopped && b == Running:
		return true
	}
	return false
}

// Overlaps returns the key of an experiment in others (of e's team and
// layer, other than e) whose range overlaps e's, or "".
func Overlaps(e Experiment, others []Experiment) string {
	if e.Layer == "" {
		return ""
	}
	for _, o := range others {
		if o.Key == e.Key || o.Team != e.Team || o.Layer != e.Layer || o.Status == Stopped {
			continue
		}
		if e.Range[0] < o.Range[1] && o.Range[0] < e.Range[1] {
			return o.Key
		}
	}
	return ""
}
