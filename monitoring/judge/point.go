package judge

// CounterType says how a series' values are judged: GAUGE as they are,
// COUNTER and DERIVE as per-second rates between consecutive points.
type CounterType uint8

// The counter types of Open-Falcon's push format.
const (
	Gauge CounterType = iota + 1
	Counter
	Derive
)

// Point is one pushed value of a series as the judge needs it. It is the
// judge's own minimal input type; the ingest side's point model
// (monitoring/metric) converts into it. Tags is referenced, not copied:
// the caller must not change the map afterwards.
type Point struct {
	Endpoint  string
	Metric    string
	Tags      map[string]string
	Timestamp int64 // Unix seconds, aligned to Step by ingest
	Step      int64 // seconds between points of the series
	Value     float64
	Type      CounterType
}

// rate reports whether values of t are judged as per-second rates.
func (t CounterType) rate() bool { return t == Counter || t == Derive }
