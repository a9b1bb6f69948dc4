// Package wire is the contract between the A/B function (which publishes
// tracked metric events) and the aggregator runner (runner/abagg, which
// keeps per-unit totals): the NSQ topic and payload, and the store keys
// and value of the totals. Both import it; it imports neither.
package wire

import "time"

// EventsTopic carries tracked metric events; AggregatorChannel is the
// aggregator's channel on it.
const (
	EventsTopic       = "ab.events"
	AggregatorChannel = "aggregator"
	// EventsVersion is the payload version of Events.
	EventsVersion = 1
)

// Event is one metric event of a unit.
type Event struct {
	Unit   string    `json:"unit"`
	Metric string    `json:"metric"`
	Value  float64   `json:"value"`
	TS     time.Time `json:"ts"`
}

// Events is one tracked batch of a team, as published on EventsTopic.
// It never carries a token.
type Events struct {
	Version int     `json:"version"`
	Team    string  `json:"team"`
	Events  []Event `json:"events"`
	// ReceivedAt is when the function accepted the batch.
	ReceivedAt time.Time `json:"received_at"`
}

// Store keys of the totals.
const (
	// TotalsPrefix holds one Totals per team, metric and unit:
	// ab/totals/<team>/<metric>/<unit>.
	TotalsPrefix = "ab/totals/"
	// SeenPrefix marks the NSQ messages already applied (with a TTL), so a
	// redelivered message is applied once.
	SeenPrefix = "ab/seen/"
	// SeenTTL is how long a message stays marked as applied.
	SeenTTL = 24 * time.Hour
)

// TotalsKey is where the totals of a unit's metric live.
func TotalsKey(team, metric, unit string) string {
	return TotalsPrefix + team + "/" + metric + "/" + unit
}

// MetricPrefix is the prefix of every unit's totals of a team's metric.
func MetricPrefix(team, metric string) string { return TotalsPrefix + team + "/" + metric + "/" }

// RecentApplied is how many message ids a Totals remembers.
const RecentApplied = 32

// Totals is the running total of one unit's metric.
type Totals struct {
	Sum   float64   `json:"sum"`
	Count int64     `json:"count"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Applied are the ids of the last RecentApplied NSQ messages added
	// here, so a message retried after a partial failure is added once.
	Applied []string `json:"applied,omitempty"`
}
