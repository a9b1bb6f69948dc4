// Package engine is the pure A/B decision engine: hashing a unit into
// [0,1), turning variation weights and coverage into bucket ranges,
// choosing a variation, namespaces, and evaluating targeting conditions.
// It does no I/O.
//
// Every exported function gives the results of GrowthBook's JavaScript
// SDK (github.com/growthbook/growthbook, packages/sdk-js, src/util.ts and
// src/mongrule.ts) for the same input, including strings outside ASCII:
// hashing runs FNV-1a over UTF-16 code units as JavaScript strings hold
// them, not over UTF-8 bytes (GrowthBook's Go SDK does the latter, so it
// differs from the JS SDK for non-ASCII ids). The side-by-side test runs
// the published JS SDK under node on the same inputs.
package engine
