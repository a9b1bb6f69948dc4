// Package experiment is the pure model of Wharf's A/B function: layers
// (each with its own salt and 10,000 buckets; the experiments of one layer
// own disjoint bucket ranges, experiments of different layers are
// orthogonal), experiments (key, seed, hash version and attribute,
// weighted variations with JSON values, coverage, targeting condition,
// forced assignments, status draft → running → stopped, bucket version),
// their validation with field errors, the decision of one unit against a
// compiled snapshot of running experiments, and the estimate of how many
// units an edit would move. No I/O: functions/ab stores and serves it.
//
// Assignment follows GrowthBook's JavaScript SDK (through the engine
// package): a layer is a GrowthBook namespace (the layer's salt as its id,
// the experiment's bucket range divided by 10,000 as its range), the
// variation is ChooseVariation(Hash(seed, unit, hash version),
// BucketRanges(...)), so a GrowthBook SDK reading the features payload of
// this package assigns the same variation.
package experiment
