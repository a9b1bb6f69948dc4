package amroute

import (
	"testing"

	"github.com/wharfhq/wharf/monitoring/fielderr"
	"github.com/wharfhq/wharf/monitoring/labels"
)

// FuzzDecode: any document decodes to a tree or a fielderr.List, never a
// panic; a tree matches any label set with at least one route.
func FuzzDecode(f *testing.F) {
	f.Add(amTree)
	f.Add(`{"receiver":"r","group_by":["..."],"routes":[{"matchers":["a=~\"b.*\""],"continue":true}]}`)
	f.Add("receiver: r\ngroup_wait: 1d\nroutes: [{matchers: [x!=y]}]")
	f.Fuzz(func(t *testing.T, doc string) {
		r, err := Decode([]byte(doc), nil)
		if err != nil {
			if _, ok := err.(fielderr.List); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, ls := range []labels.Set{{}, {"a": "b", "owner": "team-A", "env": "production"}} {
			m := r.Match(ls)
			if len(m) == 0 {
				t.Fatalf("no route for %s", ls)
			}
			for _, x := range m {
				_ = x.GroupKey(ls)
			}
		}
	})
}
