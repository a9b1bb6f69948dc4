package monitor

import (
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// TestShardsApplyAtDifferentMoments: the shards' bounds of waiting points
// all differ, between half the store's default and the default, so shards
// that fill up at the same rate do not all apply at once.
func TestShardsApplyAtDifferentMoments(t *testing.T) {
	t.Parallel()
	const shards = 8
	seen := map[int]bool{}
	for s := range shards {
		b := deferredBound(float64(s+1) / float64(shards+1))
		if b <= seriesstore.DefaultMaxDeferredPoints/2 || b > seriesstore.DefaultMaxDeferredPoints || seen[b] {
			t.Fatalf("shard %d: bound %d (seen before: %v)", s, b, seen[b])
		}
		seen[b] = true
	}
}
