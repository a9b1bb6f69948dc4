package experiment

import "strconv"

// SampleSize is how many synthetic units Estimate re-hashes.
const SampleSize = 10000

// Change is the estimated effect of an edit on the units of an
// experiment: the shares (0 to 1) of a sample of units that would move
// from one variation to another, enter the experiment or leave it.
type Change struct {
	// Moved is the share that would change variation: a reassignment.
	Moved    float64 `json:"moved"`
	Entering float64 `json:"entering"`
	Leaving  float64 `json:"leaving"`
	// Sample is the number of units re-hashed.
	Sample int `json:"sample"`
}

// Reassigns reports whether the edit moves any sampled unit between
// variations.
func (c Change) Reassigns() bool { return c.Moved > 0 }

// Estimate re-hashes SampleSize synthetic unit ids ("u0", "u1", ...)
// under before and after (both in their layers, nil without one) and
// returns the shares that change. Targeting conditions and allow-lists are
// left out: they depend on attributes, not on the hashing an edit changes.
func Estimate(before Experiment, beforeLayer *Layer, after Experiment, afterLayer *Layer) Change {
	before.Condition, after.Condition = nil, nil
	before.Forced, after.Forced = nil, nil
	b, a := Compile(before, beforeLayer), Compile(after, afterLayer)
	var moved, entering, leaving int
	attrs := map[string]any{}
	for i := range SampleSize {
		attrs[before.HashAttribute] = "u" + strconv.Itoa(i)
		attrs[after.HashAttribute] = attrs[before.HashAttribute]
		x, y := b.Decide(attrs), a.Decide(attrs)
		switch {
		case x.In() && y.In() && x.Variation != y.Variation:
			moved++
		case !x.In() && y.In():
			entering++
		case x.In() && !y.In():
			leaving++
		}
	}
	return Change{Moved: float64(moved) / SampleSize, Entering: float64(entering) / SampleSize,
		Leaving: float64(leaving) / SampleSize, Sample: SampleSize}
}
