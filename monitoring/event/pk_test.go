package event

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/monitoring/metric"
)

// TestPKMatchesIngest: the judge's PK (event ids) and the ingest side's
// (shard placement, series files) are byte for byte the same series key.
func TestPKMatchesIngest(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "core", "dc", "project", "z9", "module"}
	for i := range 2000 {
		tags := map[string]string{}
		var pushed []string
		for range r.IntN(5) {
			k, v := names[r.IntN(len(names))], names[r.IntN(len(names))]
			tags[k] = v // the last value of a repeated key wins, on both sides
			pushed = append(pushed, k+"="+v)
		}
		ep, m := "host-"+names[r.IntN(len(names))], "cpu.idle"
		got, want := PK(ep, m, tags), metric.PK(ep, m, metric.CanonicalTags(strings.Join(pushed, ",")))
		if got != want {
			t.Fatalf("case %d tags %q: judge PK %q, ingest PK %q", i, pushed, got, want)
		}
		if back := metric.ParseTags(metric.CanonicalTags(strings.Join(pushed, ","))); PK(ep, m, back) != want {
			t.Fatalf("case %d: PK of the parsed canonical tags %q differs from %q", i, PK(ep, m, back), want)
		}
	}
}
