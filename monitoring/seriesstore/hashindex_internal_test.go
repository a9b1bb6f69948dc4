package seriesstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The hash index answers like a map through puts, replacements and
// removals (backward shifts across the table's wrap-around included)
// while it grows.
func TestHashIndexMatchesAMap(t *testing.T) {
	t.Parallel()
	x := newHashIndex()
	want := map[string]*series{}
	r := rand.New(rand.NewPCG(1, 2))
	for op := range 200_000 {
		key := fmt.Sprintf("host-%d/cpu", r.IntN(5000))
		switch r.IntN(3) {
		case 0, 1:
			e := &series{key: key}
			x.put(e)
			want[key] = e
		case 2:
			x.remove(key)
			delete(want, key)
		}
		if op%997 == 0 || op > 199_000 {
			if x.n != len(want) {
				t.Fatalf("op %d: %d entries, want %d", op, x.n, len(want))
			}
			for k, e := range want {
				if got := x.get(k); got != e {
					t.Fatalf("op %d: get %q = %p, want %p", op, k, got, e)
				}
			}
		}
		if x.get(key) != want[key] {
			t.Fatalf("op %d: get %q after the op disagrees", op, key)
		}
	}
	if x.get("nowhere") != nil {
		t.Fatal("found a key never put")
	}
}
