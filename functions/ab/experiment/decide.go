package experiment

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/functions/ab/engine"
)

// Reasons an Assignment gives with explain.
const (
	ReasonIn          = "in experiment"
	ReasonForced      = "forced: the unit is on the experiment's allow-list"
	ReasonNoAttribute = "not in experiment: the hash attribute (and its fallback) is missing or empty"
	ReasonCondition   = "not in experiment: the targeting condition is false for these attributes"
	ReasonLayer       = "not in experiment: the unit's layer bucket is outside the experiment's range"
	ReasonHoldout     = "not in experiment: the unit is in the holdout (served the control's value)"
	ReasonCoverage    = "not in experiment: the unit's hash is outside the covered share"
)

// HoldoutSeedPrefix prefixes the effective seed to hash the holdout.
const HoldoutSeedPrefix = "holdout:"

// Compiled is a running experiment ready for decisions: everything
// derived from its definition (ranges, seeds, layer range) computed once.
type Compiled struct {
	Exp Experiment
	// Index is the experiment's position in its snapshot.
	Index int
	// LayerSalt is the salt of its layer ("" without a layer).
	LayerSalt      string
	nsSeed         string
	nsStart, nsEnd float64
	seed           string
	holdoutSeed    string
	ranges         [][2]float64
	cond           *engine.Condition
	values         []json.RawMessage
}

// Compile prepares e (running, normalized, valid) in layer (nil without
// one) for decisions.
func Compile(e Experiment, layer *Layer) *Compiled {
	c := &Compiled{Exp: e, seed: e.EffectiveSeed()}
	c.holdoutSeed = HoldoutSeedPrefix + c.seed
	if layer != nil {
		c.LayerSalt, c.nsSeed = layer.Salt, "__"+layer.Salt
		c.nsStart, c.nsEnd = float64(e.Range[0])/Buckets, float64(e.Range[1])/Buckets
	}
	c.ranges = engine.BucketRanges(len(e.Variations), e.Coverage, e.Weights())
	if len(e.Condition) > 0 {
		c.cond = engine.Compile(e.Condition)
	}
	c.values = make([]json.RawMessage, len(e.Variations))
	for i, v := range e.Variations {
		c.values[i] = v.Value
		if len(v.Value) == 0 {
			c.values[i] = json.RawMessage("null")
		}
	}
	return c
}

// Ranges returns the variations' hash ranges (GrowthBook's bucket ranges).
func (c *Compiled) Ranges() [][2]float64 { return c.ranges }

// Seed is the effective seed hashed.
func (c *Compiled) Seed() string { return c.seed }

// Value is variation i's JSON value (null when it has none).
func (c *Compiled) Value(i int) json.RawMessage { return c.values[i] }

// Assignment is the decision of one experiment for one unit.
type Assignment struct {
	// Variation is the index of the unit's variation, -1 when the unit is
	// not in the experiment.
	Variation int
	// Forced is set when an allow-list decided.
	Forced bool
	// Holdout is set when the unit is in the holdout (Variation -1).
	Holdout bool
	// Bucket is the unit's bucket in the experiment's layer (0-9999), -1
	// without a layer or a hash attribute.
	Bucket int
	// Hash is the unit's position in [0, 1) by the experiment's seed.
	Hash float64
	// Reason says why (one of the Reason constants).
	Reason string
	// Unit is the value hashed (the hash attribute's, or its fallback's):
	// the unit whose exposure and events are counted; "" without one.
	Unit string
}

// In reports whether the unit is in the experiment.
func (a Assignment) In() bool { return a.Variation >= 0 }

// HashValue returns the value of attribute in attrs as GrowthBook hashes
// it: a non-empty string, or a finite non-zero number in its shortest
// decimal form; "" otherwise.
func HashValue(attrs map[string]any, attribute string) string {
	switch v := attrs[attribute].(type) {
	case string:
		return v
	case float64:
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return jsNumber(v)
	case json.Number:
		return v.String()
	case int:
		if v == 0 {
			return ""
		}
		return strconv.Itoa(v)
	}
	return ""
}

// Positions remembers a unit's position in the layers already hashed
// during one decision of many experiments, so the experiments of one layer
// hash the unit once. The zero value is empty; it holds 8 layers and
// computes the others each time.
type Positions struct {
	n    int
	salt [8]string
	hv   [8]string
	pos  [8]float64
}

// position is the unit hv's position in the layer of salt (engine.Hash
// of "__"+salt, version 1, as engine.InNamespace).
func (p *Positions) position(c *Compiled, hv string) float64 {
	if p != nil {
		for i := range p.n {
			if p.salt[i] == c.LayerSalt && p.hv[i] == hv {
				return p.pos[i]
			}
		}
	}
	n, _ := engine.Hash(c.nsSeed, hv, 1)
	if p != nil && p.n < len(p.salt) {
		p.salt[p.n], p.hv[p.n], p.pos[p.n] = c.LayerSalt, hv, n
		p.n++
	}
	return n
}

// jsNumber is JavaScript's String(f) for a finite non-zero f: the
// shortest digits that round-trip, fixed for 1e-6 ≤ |f| < 1e21, else
// exponent notation without padding ("1e+21", "1.5e-7").
func jsNumber(f float64) string {
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	if i := strings.IndexByte(s, 'e'); i > 0 && i+2 < len(s) {
		exp := strings.TrimLeft(s[i+2:], "0")
		s = s[:i+2] + exp
	}
	return s
}

// Decide assigns the unit with attrs (its id already in attrs[id]) to a
// variation of c, in GrowthBook's order: allow-list, hash attribute,
// layer (namespace), condition, holdout, coverage and weights.
func (c *Compiled) Decide(attrs map[string]any) Assignment { return c.DecideAt(attrs, nil) }

// DecideAt is Decide with the unit's layer positions remembered in p (nil:
// none) for the next experiments of the same decision.
func (c *Compiled) DecideAt(attrs map[string]any, p *Positions) Assignment {
	e := &c.Exp
	hv := HashValue(attrs, e.HashAttribute)
	if hv == "" && e.FallbackAttribute != "" {
		hv = HashValue(attrs, e.FallbackAttribute)
	}
	a := Assignment{Variation: -1, Bucket: -1, Unit: hv}
	if hv == "" {
		a.Reason = ReasonNoAttribute
		return a
	}
	if v, ok := e.Forced[hv]; ok {
		a.Variation, a.Forced, a.Reason = v, true, ReasonForced
		return a
	}
	if c.LayerSalt != "" {
		// engine.InNamespace(hv, c.LayerSalt, start, end), with the
		// position kept for the bucket.
		n := p.position(c, hv)
		a.Bucket = int(math.Round(n * Buckets))
		if n < c.nsStart || n >= c.nsEnd {
			a.Reason = ReasonLayer
			return a
		}
	}
	if c.cond != nil && !c.cond.Eval(attrs, nil) {
		a.Reason = ReasonCondition
		return a
	}
	if e.Holdout > 0 {
		if n, ok := engine.Hash(c.holdoutSeed, hv, 2); ok && n < e.Holdout {
			a.Holdout, a.Reason = true, ReasonHoldout
			return a
		}
	}
	n, ok := engine.Hash(c.seed, hv, e.HashVersion)
	a.Hash = n
	if !ok {
		a.Reason = ReasonCoverage
		return a
	}
	a.Variation = engine.ChooseVariation(n, c.ranges)
	if a.Variation < 0 {
		a.Reason = ReasonCoverage
		return a
	}
	a.Reason = ReasonIn
	return a
}
