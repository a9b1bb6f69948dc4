package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
)

func testListPagination(t *testing.T, s store.Store) {
	const n, writers = 2500, 8
	ctx := testCtx(t)
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("list/%05d", i)
	}
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += writers {
				if _, err := s.Put(ctx, want[i], []byte("v"+want[i]), store.PutOptions{}); err != nil {
					t.Errorf("Put(%q): %v", want[i], err)
					return
				}
			}
		}()
	}
	// Neighbours that must stay outside the prefix.
	for _, k := range []string{"list", "lisu/x", "lis", "list0", "list.", "k"} {
		mustPut(t, s, k, "x", store.PutOptions{})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	rev := mustRevision(t, s)

	var got []store.Entry
	after, pages := "", 0
	for {
		p, err := s.List(ctx, "list/", store.ListOptions{After: after, Limit: 100})
		if err != nil {
			t.Fatalf("List page %d: %v", pages, err)
		}
		pages++
		if p.Revision != rev {
			t.Fatalf("page %d: revision %d, want %d", pages, p.Revision, rev)
		}
		if len(p.Entries) > 100 {
			t.Fatalf("page %d: %d entries over the limit", pages, len(p.Entries))
		}
		got = append(got, p.Entries...)
		if p.Next == "" {
			break
		}
		if p.Next != p.Entries[len(p.Entries)-1].Key {
			t.Fatalf("page %d: Next %q is not the last key %q", pages, p.Next, p.Entries[len(p.Entries)-1].Key)
		}
		after = p.Next
	}
	if pages != n/100 {
		t.Fatalf("got %d pages, want %d (the last full page must have an empty Next)", pages, n/100)
	}
	if keys := keysOf(got); !slices.Equal(keys, want) {
		t.Fatalf("paged keys differ from the expected %d keys in order (got %d)", n, len(keys))
	}
	for _, e := range got {
		if string(e.Value) != "v"+e.Key || e.Version == 0 || e.Version > rev {
			t.Fatalf("entry %+v: wrong value or version", e)
		}
	}

	// Limit zero means 1000.
	p, err := s.List(ctx, "list/", store.ListOptions{})
	if err != nil {
		t.Fatalf("List without limit: %v", err)
	}
	if len(p.Entries) != 1000 || p.Next != want[999] {
		t.Fatalf("List without limit: %d entries, Next %q; want 1000 and %q", len(p.Entries), p.Next, want[999])
	}
	// The empty prefix lists everything.
	if all := listAll(t, s, "", 700); len(all) != n+6 {
		t.Fatalf("List of everything: %d entries, want %d", len(all), n+6)
	}
}

func testListBoundaries(t *testing.T, s store.Store) {
	ctx := testCtx(t)
	for _, k := range []string{"b", "a0", "a/b", "a/", "a", "z\xff", "z\xff\xff", "z\xfe", "za"} {
		mustPut(t, s, k, "v", store.PutOptions{})
	}
	cases := []struct {
		prefix, after string
		limit         int
		want          []string
	}{
		{prefix: "a/", want: []string{"a/", "a/b"}},
		{prefix: "a", want: []string{"a", "a/", "a/b", "a0"}},
		{prefix: "a", after: "a/", want: []string{"a/b", "a0"}},
		{prefix: "a", after: "a/b", want: []string{"a0"}},
		{prefix: "a", after: "a0", want: nil},
		{prefix: "a", after: "0", want: []string{"a", "a/", "a/b", "a0"}},
		{prefix: "a", after: "zz", want: nil},
		{prefix: "a/b", want: []string{"a/b"}},
		{prefix: "a/bc", want: nil},
		{prefix: "c", want: nil},
		{prefix: "b", want: []string{"b"}},
		{prefix: "z\xff", want: []string{"z\xff", "z\xff\xff"}},
		{prefix: "z", limit: 2, want: []string{"za", "z\xfe"}},
		{prefix: "z", after: "z\xfe", want: []string{"z\xff", "z\xff\xff"}},
	}
	for _, c := range cases {
		p, err := s.List(ctx, c.prefix, store.ListOptions{After: c.after, Limit: c.limit})
		if err != nil {
			t.Fatalf("List(%q after %q): %v", c.prefix, c.after, err)
		}
		if got := keysOf(p.Entries); !slices.Equal(got, c.want) && (len(got) > 0 || len(c.want) > 0) {
			t.Errorf("List(%q after %q limit %d) = %q, want %q", c.prefix, c.after, c.limit, got, c.want)
		}
		if c.limit == 0 && p.Next != "" {
			t.Errorf("List(%q after %q): Next %q on the last page", c.prefix, c.after, p.Next)
		}
	}
}
