package silence

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/labels"
)

// BenchmarkSilenced: 1,000 active silences, one of which (the last)
// matches.
func BenchmarkSilenced(b *testing.B) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ss := make([]Silence, 1000)
	for i := range ss {
		ms, err := labels.ParseMatchers(fmt.Sprintf(`team="t%d",priority=~"[0-2]"`, i))
		if err != nil {
			b.Fatal(err)
		}
		ss[i] = Silence{ID: fmt.Sprint(i), Matchers: ms, StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	}
	ls := labels.Set{"alertname": "cpu", "team": "t999", "priority": "1", "endpoint": "web-1"}
	now := t0.Add(time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		if ids := Silenced(ss, ls, now); len(ids) != 1 {
			b.Fatalf("silenced by %v", ids)
		}
	}
}
