package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// falconItem is one item of a Falcon push as the Falcon agent sends it.
type falconItem struct {
	Endpoint    string  `json:"endpoint"`
	Metric      string  `json:"metric"`
	Timestamp   int64   `json:"timestamp"`
	Step        int64   `json:"step"`
	Value       float64 `json:"value"`
	CounterType string  `json:"counterType"`
	Tags        string  `json:"tags"`
}

// vmLine is one line of VictoriaMetrics' JSON import.
type vmLine struct {
	Metric     map[string]string `json:"metric"`
	Values     []float64         `json:"values"`
	Timestamps []int64           `json:"timestamps"`
}

// TestBodiesCarryTheSamePoints: both encodings of a batch that crosses a
// pass boundary are valid JSON and hold the same series, times and values.
func TestBodiesCarryTheSamePoints(t *testing.T) {
	const series, base = 25, int64(1_700_000_010)
	seq, n := 20, 10 // points 20..29: series 20..24 of pass 0, then 0..4 of pass 1
	var items []falconItem
	if err := json.Unmarshal(appendFalcon(nil, seq, n, series, base), &items); err != nil {
		t.Fatalf("the Falcon body is not a JSON array: %v", err)
	}
	var lines []vmLine
	sc := bufio.NewScanner(bytes.NewReader(appendVMImport(nil, seq, n, series, base)))
	for sc.Scan() {
		var l vmLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d of the VM body is not JSON: %v", len(lines)+1, err)
		}
		lines = append(lines, l)
	}
	if len(items) != n || len(lines) != n {
		t.Fatalf("got %d Falcon items and %d VM lines, want %d each", len(items), len(lines), n)
	}
	for k := range n {
		q := seq + k
		i, p := q%series, q/series
		it, l := items[k], lines[k]
		wantEndpoint := fmt.Sprintf("host-%05d", i/10)
		wantTime := base + int64(p)*step
		if it.Endpoint != wantEndpoint || it.Metric != loadMetric || it.Tags != fmt.Sprintf("env=bench,k=%d", i%10) ||
			it.Step != step || it.CounterType != "GAUGE" || it.Timestamp != wantTime || it.Value != float64(value(i, p)) {
			t.Errorf("Falcon item %d = %+v, want series %d of pass %d", k, it, i, p)
		}
		if l.Metric["__name__"] != loadMetric || l.Metric["endpoint"] != wantEndpoint || l.Metric["env"] != "bench" ||
			l.Metric["k"] != fmt.Sprint(i%10) || len(l.Values) != 1 || l.Values[0] != it.Value ||
			len(l.Timestamps) != 1 || l.Timestamps[0] != wantTime*1000 {
			t.Errorf("VM line %d = %+v, want the point of Falcon item %+v", k, l, it)
		}
	}
}
