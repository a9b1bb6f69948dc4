package amroute

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/monitoring/labels"
)

// BenchmarkMatch: a tree of 50 team routes with 4 children each, an alert
// that matches the last team's third child.
func BenchmarkMatch(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("receiver: default\ngroup_by: [alertname]\nroutes:\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&doc, "- matchers: ['team=\"t%d\"']\n  receiver: t%d\n  routes:\n", i, i)
		for j := 0; j < 4; j++ {
			fmt.Fprintf(&doc, "  - matchers: ['priority=~\"[%d-%d]\"', 'endpoint!~\"canary-.*\"']\n    receiver: t%d-p%d\n", j, j, i, j)
		}
	}
	tree, err := Decode([]byte(doc.String()), nil)
	if err != nil {
		b.Fatal(err)
	}
	ls := labels.Set{"alertname": "cpu", "team": "t49", "priority": "2", "endpoint": "web-1", "metric": "cpu.busy"}
	b.ReportAllocs()
	var dst []*Route
	for b.Loop() {
		dst = tree.MatchAppend(dst[:0], ls)
		if len(dst) != 1 || dst[0].Opts.Receiver != "t49-p2" {
			b.Fatalf("matched %v", dst)
		}
	}
}
