package promexp

// LatencyBuckets are the upper bounds (seconds) of request latency
// histograms: 0.5 ms to 10 s, about three per decade, so that
// histogram_quantile(0.99, ...) is accurate from a fast proxy hop to a slow
// upstream. Each call returns a new slice.
func LatencyBuckets() []float64 {
	return []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// DurationBuckets are the upper bounds (seconds) of histograms of long
// operations such as a deploy: 1 s to 1 h. Each call returns a new slice.
func DurationBuckets() []float64 {
	return []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600}
}
