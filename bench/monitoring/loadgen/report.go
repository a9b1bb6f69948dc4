package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// report reads the rounds (one JSON line each) and prints, per target, the
// medians over rounds, the per-round values, the pooled marker latencies
// and Wharf's ratios to VictoriaMetrics; out also gets it (*.json: the
// rounds as one JSON array).
func report(path, header, out string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read the rounds: %w", err)
	}
	defer f.Close()
	var rounds []roundResult
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r roundResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return fmt.Errorf("cannot read a round: %w", err)
		}
		rounds = append(rounds, r)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read the rounds: %w", err)
	}
	var b strings.Builder
	if header != "" {
		fmt.Fprintf(&b, "%s\n\n", header)
	}
	writeTable(&b, rounds)
	fmt.Print(b.String())
	if out == "" {
		return nil
	}
	var data []byte
	if strings.HasSuffix(out, ".json") {
		if data, err = json.MarshalIndent(rounds, "", "  "); err != nil {
			return fmt.Errorf("cannot encode the rounds: %w", err)
		}
	} else {
		data = []byte(b.String())
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", out, err)
	}
	return nil
}

// summary is one target's medians over its rounds.
type summary struct {
	accepted, sustained, drain, rss, anon, rssStart, cpuPerM float64
	refused, errors, late, markers                           int64
	lat                                                      []float64
	undrained                                                int
}

func summarize(rs []roundResult) summary {
	var s summary
	var acc, sus, drn, cpu []float64
	if len(rs) > 0 {
		s.rssStart = rs[0].RSSStartMiB
	}
	for _, r := range rs {
		acc = append(acc, r.AcceptedPS)
		sus = append(sus, r.StoredPS)
		drn = append(drn, r.DrainS)
		if r.Accepted > 0 {
			cpu = append(cpu, r.CPUS/float64(r.Accepted)*1e6)
		}
		s.rss = max(s.rss, r.RSSPeakMiB)
		s.anon = max(s.anon, r.AnonPeakMiB)
		s.refused += r.Refused503
		s.errors += r.Errors
		s.late += int64(r.MarkersLate)
		s.markers += int64(r.Markers)
		s.lat = append(s.lat, r.LatMS...)
		if !r.Drained {
			s.undrained++
		}
	}
	s.accepted, s.sustained, s.drain, s.cpuPerM = median(acc), median(sus), median(drn), median(cpu)
	slices.Sort(s.lat)
	return s
}

func writeTable(w io.Writer, rounds []roundResult) {
	var targets []string
	by := map[string][]roundResult{}
	for _, r := range rounds {
		if _, ok := by[r.Target]; !ok {
			targets = append(targets, r.Target)
		}
		by[r.Target] = append(by[r.Target], r)
	}
	fmt.Fprintln(w, "| target | accepted points/s | stored points/s (load + drain) | drain s | RSS MiB before round 1 | peak RSS MiB | peak anon RSS MiB | CPU s per 1M points | 503s | errors | accepted points/s per round |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	sums := map[string]summary{}
	for _, t := range targets {
		s := summarize(by[t])
		sums[t] = s
		var per []string
		for _, r := range by[t] {
			per = append(per, fmt.Sprintf("%.0f", r.AcceptedPS))
		}
		sus := fmt.Sprintf("%.0f", s.sustained)
		if s.undrained > 0 {
			sus += fmt.Sprintf(" (%d round(s) not drained in time)", s.undrained)
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %.1f | %.0f | %.0f | %.0f | %.2f | %d | %d | %s |\n",
			t, s.accepted, sus, s.drain, s.rssStart, s.rss, s.anon, s.cpuPerM, s.refused, s.errors, strings.Join(per, " "))
	}
	fmt.Fprintln(w)
	if s, ok := sums["wharf"]; ok && s.markers+s.late > 0 {
		fmt.Fprintf(w, "- wharf point → alarm event on NSQ: p50 **%s**, p99 **%s**, max %s over %d marker events (%d more not seen within 10 s after the drain)\n",
			qLate(s.lat, s.late, 0.5), qLate(s.lat, s.late, 0.99), qLate(s.lat, s.late, 1), s.markers, s.late)
		for _, r := range by["wharf"] {
			lat := slices.Clone(r.LatMS)
			slices.Sort(lat)
			late := int64(r.MarkersLate)
			fmt.Fprintf(w, "  - round %d: p50 %s, p99 %s, max %s (%d events, %d not seen)\n", r.Round,
				qLate(lat, late, 0.5), qLate(lat, late, 0.99), qLate(lat, late, 1), r.Markers, r.MarkersLate)
		}
	}
	wh, okW := sums["wharf"]
	vm, okV := sums["vm"]
	if okW && okV {
		fmt.Fprintf(w, "- wharf/vm accepted points/s: **%s**   stored: **%s**   peak RSS: %s   peak anon RSS: %s   CPU per point: %s\n",
			ratio(wh.accepted, vm.accepted), ratio(wh.sustained, vm.sustained), ratio(wh.rss, vm.rss), ratio(wh.anon, vm.anon), ratio(wh.cpuPerM, vm.cpuPerM))
	}
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", a/b)
}

// median of vs (mean of the middle two when even; 0 when empty).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// q is the nearest-rank q-quantile of sorted values.
func q(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// qLate is the q-quantile of the seen latencies plus late ones that were
// never seen (counted as later than every seen one): "> X ms" when the
// rank falls among the late ones.
func qLate(seen []float64, late int64, p float64) string {
	n := len(seen) + int(late)
	if n == 0 {
		return "n/a"
	}
	i := int(p*float64(n)+0.999999) - 1
	i = min(max(i, 0), n-1)
	if i >= len(seen) {
		return fmt.Sprintf("> %.0f ms", q(seen, 1))
	}
	return fmt.Sprintf("%.1f ms", seen[i])
}
