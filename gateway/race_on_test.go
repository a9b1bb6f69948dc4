//go:build race

package gateway

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// allocation counts are not those of a normal build.
const raceEnabled = true
