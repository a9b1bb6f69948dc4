package judge

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/monitoring/event"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// The judge keys a series' states by the PK of its batch points (canonical
// tags, as the monitor publishes them): that must be the PK the event IDs
// are made of, event.PK of the parsed tags, for every tag string a
// pusher can send.
func TestBatchPKIsTheEventPK(t *testing.T) {
	t.Parallel()
	cases := []string{"", "a=1", "b=2,a=1", " k = v , x=y=z ", "dup=1,dup=2", "=v,k=", "noeq,k=v", ",,,", "k=a b"}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "ab=, z"
	for range 5000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		cases = append(cases, b.String())
	}
	idx := newSeriesIndex()
	for _, raw := range cases {
		tags := metric.CanonicalTags(raw)
		p := metric.Point{Endpoint: "host", Metric: "cpu", Tags: tags}
		s := idx.group([]metric.Point{p}, 1<<20)[0]
		g := idx.points(s)[0]
		if want := event.PK(g.Endpoint, g.Metric, g.Tags); s.pk != want {
			t.Fatalf("tags %q (canonical %q): batch PK %q, event PK %q", raw, tags, s.pk, want)
		}
	}
}
