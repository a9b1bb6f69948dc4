package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// quantileMs is the q-quantile (nearest rank) of the latencies in
// milliseconds; 0 without any.
func quantileMs(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}

// median of the values (the mean of the middle two for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// writeReport prints the per-round lines and, per system, the medians over
// rounds (duplicates and losses summed); out also gets it (*.json: the
// rounds as a JSON array).
func writeReport(rounds []roundResult, header, out string) error {
	var b strings.Builder
	if header != "" {
		fmt.Fprintf(&b, "%s\n\n", header)
	}
	b.WriteString("| system | alerts/s accepted | POST p99 | webhook calls (500s) | deliveries expected | duplicates | losses (firings whose resolution came) | firing after resolved | p50 post→delivery | p99 post→delivery |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	var systems []string
	for _, r := range rounds {
		if !slices.Contains(systems, r.System) {
			systems = append(systems, r.System)
		}
	}
	slices.Sort(systems)
	for _, s := range systems {
		var rate, post, calls, c500, want, p50, p99 []float64
		dups, lost, firingOnly, late := 0, 0, 0, 0
		for _, r := range rounds {
			if r.System != s {
				continue
			}
			rate = append(rate, r.AcceptedPerSec)
			post = append(post, r.PostP99ms)
			calls = append(calls, float64(r.Calls))
			c500 = append(c500, float64(r.Calls500))
			want = append(want, float64(r.Want))
			p50 = append(p50, r.P50ms)
			p99 = append(p99, r.P99ms)
			dups += r.Duplicates
			lost += r.Lost
			firingOnly += r.LostFiringOnly
			late += r.FiringLate
		}
		fmt.Fprintf(&b, "| %s | %.1f | %.0f ms | %.0f (%.0f) | %.0f | %d | %d (%d) | %d | %.0f ms | %.0f ms |\n",
			label(s), median(rate), median(post), median(calls), median(c500), median(want), dups, lost, firingOnly, late, median(p50), median(p99))
	}
	b.WriteString("\nMedians over rounds; duplicates, losses and firings after the resolution are the sums over all rounds.\n\nPer round:\n\n")
	b.WriteString("| system | round | posted | accepted | failed posts | expected | received | duplicates | lost (firing only) | unexpected | calls | 500s | drain | p50 | p99 | max |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rounds {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d (%d) | %d | %d | %d | %.1f s | %.0f ms | %.0f ms | %.0f ms |\n",
			r.System, r.Round, r.Posted, r.Accepted, r.PostErrors, r.Want, r.Received, r.Duplicates, r.Lost, r.LostFiringOnly,
			r.Unexpected, r.Calls, r.Calls500, r.DrainS, r.P50ms, r.P99ms, r.MaxMs)
	}
	fmt.Print(b.String())
	if out == "" {
		return nil
	}
	data := []byte(b.String())
	if strings.HasSuffix(out, ".json") {
		var err error
		if data, err = json.MarshalIndent(rounds, "", "  "); err != nil {
			return fmt.Errorf("cannot encode the rounds: %w", err)
		}
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", out, err)
	}
	return nil
}

func label(system string) string {
	switch system {
	case "am":
		return "Alertmanager HA pair"
	case "wharf":
		return "Wharf (2 notify nodes)"
	}
	return system
}
