package monitor

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// A listing whose filter matches nothing in the keys one page may scan
// still says where to go on (it used to answer no series and no cursor, so
// a team whose series sort late never saw them), and paging through such
// pages, merged across shards, returns every match exactly once, in order.
func TestSeriesPagingGoesOnPastPagesWithoutMatches(t *testing.T) {
	t.Parallel()
	shards := make([]*seriesstore.Store, 3)
	var want []string
	for i := range shards {
		st, err := seriesstore.Open(seriesstore.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		shards[i] = st
		var pts []seriesstore.Point
		for n := range 40 {
			team := "other"
			if n%13 == 12 && i != 1 { // few matches, late in the key order, none in shard 1
				team = "shop"
			}
			key := fmt.Sprintf("host-%d-%02d/cpu.busy/team=%s", i, n, team)
			pts = append(pts, seriesstore.Point{Key: key, Step: 60, CounterType: "GAUGE", Time: 1_700_000_000, Value: 1})
			if team == "shop" {
				want = append(want, key)
			}
		}
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(want)
	filter := seriesFilter{tags: []string{"team=shop"}}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		var all []SeriesInfo
		var cursors []string
		for _, st := range shards {
			page, next, err := listShardPage(st, "", after, 2, 5, &filter) // 2 per page, 5 keys scanned per shard
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next != "" {
				cursors = append(cursors, next)
			}
		}
		rep := mergeSeriesPages(all, cursors, 2)
		for _, s := range rep.Series {
			got = append(got, s.Endpoint+"/"+s.Metric+"/"+s.Tags)
		}
		if rep.Next == "" {
			break
		}
		if rep.Next <= after {
			t.Fatalf("cursor went back: %q after %q", rep.Next, after)
		}
		after = rep.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
}
