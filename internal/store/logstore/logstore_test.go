package logstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/logstore"
	"github.com/wharfhq/wharf/internal/store/storetest"
)

func openAt(t *testing.T, opts logstore.Options) *logstore.Store {
	t.Helper()
	s, err := logstore.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// The key-value contract of the conformance suite, without its watches
// and TTLs.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.RunUnwatched(t, func(t *testing.T) store.Store {
		return openAt(t, logstore.Options{Path: filepath.Join(t.TempDir(), "s.log")})
	})
}

// Watches and TTLs are refused by name; a batch's swaps see each other.
func TestUnsupportedAndBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openAt(t, logstore.Options{Path: filepath.Join(t.TempDir(), "s.log")})
	if _, err := s.Watch(ctx, "a", 0); !errors.Is(err, logstore.ErrUnsupported) {
		t.Fatalf("watch: %v", err)
	}
	if _, err := s.Put(ctx, "a", []byte("x"), store.PutOptions{TTL: time.Minute}); !errors.Is(err, logstore.ErrUnsupported) {
		t.Fatalf("put with a TTL: %v", err)
	}
	res, err := s.CompareAndSwapMany(ctx, []store.Swap{
		{Key: "k", Value: []byte("1")},
		{Key: "k", Expect: 1, Value: []byte("2")},
		{Key: "k", Value: []byte("lost")},
		{Key: "missing", Expect: 9, Value: []byte("lost")},
		{Key: "", Value: []byte("lost")},
		{Key: "t", Value: []byte("lost"), Opts: store.PutOptions{TTL: time.Second}},
	})
	if err != nil || res[0].Version != 1 || res[1].Version != 2 || res[1].Err != nil ||
		!errors.Is(res[2].Err, store.ErrConflict) || !errors.Is(res[3].Err, store.ErrNotFound) ||
		!errors.Is(res[4].Err, store.ErrInvalidKey) || !errors.Is(res[5].Err, logstore.ErrUnsupported) {
		t.Fatalf("batch: %+v %v", res, err)
	}
	if e, err := s.Get(ctx, "k"); err != nil || string(e.Value) != "2" || e.Version != 2 {
		t.Fatalf("k: %+v %v", e, err)
	}
	if _, err := s.Get(ctx, "t"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("t: %v", err)
	}
}

// Everything written is there after a reopen, with the same versions, and
// the revision does not go back even when its key was deleted.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.log")
	s, err := logstore.Open(logstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := s.Put(ctx, fmt.Sprintf("k/%03d", i), []byte(fmt.Sprint(i)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Delete(ctx, "k/050"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "k/099"); err != nil {
		t.Fatal(err)
	}
	rev, _ := s.Revision(ctx)
	want := listAll(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k/001"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
	s2 := openAt(t, logstore.Options{Path: path})
	if got, _ := s2.Revision(ctx); got != rev {
		t.Fatalf("revision %d after reopen, want %d", got, rev)
	}
	if got := listAll(t, s2); fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 98 {
		t.Fatalf("after reopen %d entries, want %d", len(got), len(want))
	}
}

// A second process cannot open a log in use.
func TestExclusive(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.log")
	openAt(t, logstore.Options{Path: path})
	if s, err := logstore.Open(logstore.Options{Path: path}); err == nil {
		_ = s.Close()
		t.Fatal("a log in use opened twice")
	}
}

// A crash in the middle of an append leaves a torn record: it is cut off
// at the next open, and everything before it is kept; a corrupt byte in
// the last record is found by its checksum.
func TestTornTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		harm func(b []byte) []byte
	}{
		{"torn", func(b []byte) []byte { return b[:len(b)-3] }},
		{"flipped", func(b []byte) []byte { b[len(b)-2] ^= 0xff; return b }},
		{"garbage", func(b []byte) []byte { return append(b, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.log")
			s, err := logstore.Open(logstore.Options{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"a", "b", "c"} {
				if _, err := s.Put(ctx, k, []byte("value of "+k), store.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.harm(b), 0o600); err != nil {
				t.Fatal(err)
			}
			s2 := openAt(t, logstore.Options{Path: path})
			keys := fmt.Sprint(keysOf(listAll(t, s2)))
			want := "[a b]"
			if tc.name == "garbage" {
				want = "[a b c]"
			}
			if keys != want {
				t.Fatalf("keys %s, want %s", keys, want)
			}
			// The log goes on from the cut.
			if _, err := s2.Put(ctx, "d", []byte("d"), store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			_ = s2.Close()
			s3 := openAt(t, logstore.Options{Path: path})
			if e, err := s3.Get(ctx, "d"); err != nil || string(e.Value) != "d" {
				t.Fatalf("d after the cut: %+v %v", e, err)
			}
		})
	}
}

// The log is compacted when it grew past the bound and four times the
// live data: it shrinks, and a reopen finds the same entries and revision.
func TestCompaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.log")
	s, err := logstore.Open(logstore.Options{Path: path, CompactMinBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	val := make([]byte, 100)
	maxSize := int64(0)
	for i := range 5000 {
		val[0] = byte(i)
		if _, err := s.Put(ctx, fmt.Sprintf("k/%02d", i%50), val, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		maxSize = max(maxSize, st.Size())
	}
	if _, err := s.Delete(ctx, "k/49"); err != nil {
		t.Fatal(err)
	}
	rev, _ := s.Revision(ctx)
	want := listAll(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// 5,000 writes of ~115 bytes are 575 KB without compaction.
	if maxSize > 200<<10 {
		t.Fatalf("the log reached %d bytes: not compacted", maxSize)
	}
	s2 := openAt(t, logstore.Options{Path: path})
	if got, _ := s2.Revision(ctx); got != rev {
		t.Fatalf("revision %d after reopen, want %d", got, rev)
	}
	got := listAll(t, s2)
	if len(got) != 49 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after compaction and reopen: %d entries", len(got))
	}
}

// A write that the file refuses is undone: the map, the versions and the
// revision are as before it and can be read; when the log cannot be cut
// back to its last whole record either (here: a read-only file), the
// store refuses writes from then on, and Ping says so.
func TestFailedWriteIsUndone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.log")
	s := openAt(t, logstore.Options{Path: path})
	v1, err := s.Put(ctx, "a", []byte("1"), store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logstore.BreakFile(s)
	// a is written twice (in place: its old value's room fits the new
	// ones), and must come back as it was.
	swaps := []store.Swap{{Key: "a", Expect: v1, Value: []byte("2")}, {Key: "b", Value: []byte("b")}, {Key: "a", Expect: v1 + 1, Value: []byte("3")}}
	if _, err := store.CompareAndSwapMany(ctx, s, swaps); err == nil {
		t.Fatal("a write to a closed file succeeded")
	}
	if e, err := s.Get(ctx, "a"); err != nil || string(e.Value) != "1" || e.Version != v1 {
		t.Fatalf("a after the failed write: %+v %v", e, err)
	}
	if _, err := s.Get(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b after the failed write: %v", err)
	}
	if rev, _ := s.Revision(ctx); rev != v1 {
		t.Fatalf("revision %d after the failed write, want %d", rev, v1)
	}
	if _, err := s.Put(ctx, "c", []byte("c"), store.PutOptions{}); err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Fatalf("a write after the failure: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping of a store that cannot be written succeeded")
	}
}

func listAll(t *testing.T, s store.Store) []store.Entry {
	t.Helper()
	var out []store.Entry
	after := ""
	for {
		p, err := s.List(context.Background(), "", store.ListOptions{After: after, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Entries...)
		if p.Next == "" {
			return out
		}
		after = p.Next
	}
}

func keysOf(es []store.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

// A bad record with whole records after it (bit rot, not a crash) costs
// that one change: the records after it are kept (the whole log after it
// used to be cut off: 1 key of 1,000 left).
func TestCorruptRecordInTheMiddleIsSkipped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.log")
	s, err := logstore.Open(logstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, err := s.Put(ctx, fmt.Sprintf("k/%04d", i), []byte(fmt.Sprint("value ", i)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[40] ^= 0xff // inside the second record
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := openAt(t, logstore.Options{Path: path})
	if n := len(listAll(t, s2)); n != 999 {
		t.Fatalf("%d keys after one corrupt record, want 999", n)
	}
	if e, err := s2.Get(ctx, "k/0999"); err != nil || string(e.Value) != "value 999" {
		t.Fatalf("the last key: %+v %v", e, err)
	}
}

// A torn header whose length field is garbage (here 1 GiB) is a torn
// tail: cut off without reading that much.
func TestTornHeaderWithAHugeLength(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.log")
	s, err := logstore.Open(logstore.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "a", []byte("1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{0, 0, 0, 0x40, 1, 2, 3, 4, 9, 9}); err != nil { // length 1<<30
		t.Fatal(err)
	}
	_ = f.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	s2 := openAt(t, logstore.Options{Path: path})
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("opening allocated %d MiB for a torn header", grew>>20)
	}
	if e, err := s2.Get(ctx, "a"); err != nil || string(e.Value) != "1" {
		t.Fatalf("a: %+v %v", e, err)
	}
}

// Keys created between the pages of a scan are merged into the order:
// a page after them lists every key in order, none twice.
func TestListMergesKeysCreatedBetweenPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openAt(t, logstore.Options{Path: filepath.Join(t.TempDir(), "s.log")})
	for i := 0; i < 100; i += 2 {
		if _, err := s.Put(ctx, fmt.Sprintf("k/%03d", i), []byte("x"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	after := ""
	for page := 0; ; page++ {
		p, err := s.List(ctx, "k/", store.ListOptions{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, keysOf(p.Entries)...)
		// Odd keys appear meanwhile, some before the cursor, some after.
		for i := page * 20; i < page*20+20 && i < 100; i++ {
			if i%2 == 1 {
				if _, err := s.Put(ctx, fmt.Sprintf("k/%03d", i), []byte("x"), store.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("keys out of order or twice: %v", got)
	}
	if all := keysOf(listAll(t, s)); len(all) != 100 || !slices.IsSorted(all) {
		t.Fatalf("%d keys after the scan", len(all))
	}
}

// Overwriting stored keys costs no allocation per key (the values are
// overwritten in place when they fit): a batch of 100 costs what a batch
// of one does.
func TestSwapManyAllocatesPerBatchNotPerKey(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, logstore.Options{Path: filepath.Join(t.TempDir(), "s.log")})
	swaps := make([]store.Swap, 100)
	val := bytes.Repeat([]byte("v"), 150)
	for i := range swaps {
		swaps[i] = store.Swap{Key: fmt.Sprintf("monitor/judge/state/%03d", i), Value: val}
	}
	write := func() {
		res, err := store.CompareAndSwapMany(ctx, s, swaps)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			swaps[i].Expect = r.Version
		}
	}
	write() // creates them
	write()
	if n := testing.AllocsPerRun(20, write); n > 20 {
		t.Fatalf("%v allocations per batch of %d overwrites, want at most 20", n, len(swaps))
	}
	e, err := s.Get(ctx, swaps[7].Key)
	if err != nil || !bytes.Equal(e.Value, val) || e.Version != swaps[7].Expect {
		t.Fatalf("after the overwrites: %+v %v", e, err)
	}
}

// A swap's Ref (the SwapResult.Ref of the key's last write) finds the key
// without a lookup, and only while it is that key's live item in this
// store: a ref of a deleted key, of another key, of another (or reopened)
// store or of another type changes nothing of what the swap means.
func TestSwapRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.log")
	s := openAt(t, logstore.Options{Path: path})
	one := func(s *logstore.Store, sw store.Swap) store.SwapResult {
		t.Helper()
		res, err := s.CompareAndSwapMany(ctx, []store.Swap{sw})
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	a := one(s, store.Swap{Key: "a", Value: []byte("a1")})
	b := one(s, store.Swap{Key: "b", Value: []byte("b1")})
	if a.Err != nil || a.Ref == nil || b.Err != nil || b.Ref == nil || a.Ref == b.Ref {
		t.Fatalf("refs of new keys: %+v %+v", a, b)
	}
	a2 := one(s, store.Swap{Key: "a", Expect: a.Version, Value: []byte("a2"), Ref: a.Ref})
	if a2.Err != nil || a2.Ref != a.Ref {
		t.Fatalf("swap through a's ref: %+v", a2)
	}
	if r := one(s, store.Swap{Key: "a", Expect: a.Version, Value: []byte("lost"), Ref: a.Ref}); !errors.Is(r.Err, store.ErrConflict) {
		t.Fatalf("stale version through a live ref: %v, want a conflict", r.Err)
	}
	// b's ref for a: a is written, b is not.
	if r := one(s, store.Swap{Key: "a", Expect: a2.Version, Value: []byte("a3"), Ref: b.Ref}); r.Err != nil || r.Ref != a.Ref {
		t.Fatalf("a through b's ref: %+v", r)
	}
	if e, _ := s.Get(ctx, "b"); string(e.Value) != "b1" || e.Version != b.Version {
		t.Fatalf("b after a swap of a with its ref: %+v", e)
	}
	// b deleted: its ref is dead; a swap expecting b absent creates it.
	if _, err := s.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if r := one(s, store.Swap{Key: "b", Expect: b.Version, Value: []byte("lost"), Ref: b.Ref}); !errors.Is(r.Err, store.ErrNotFound) {
		t.Fatalf("deleted b through its old ref: %v, want not found", r.Err)
	}
	b2 := one(s, store.Swap{Key: "b", Value: []byte("b2"), Ref: b.Ref})
	if b2.Err != nil || b2.Ref == b.Ref {
		t.Fatalf("b created again through its old ref: %+v", b2)
	}
	if e, _ := s.Get(ctx, "b"); string(e.Value) != "b2" || e.Version != b2.Version {
		t.Fatalf("b created again: %+v", e)
	}
	// Not refs of this store: ignored.
	other := openAt(t, logstore.Options{Path: filepath.Join(t.TempDir(), "other.log")})
	if r := one(other, store.Swap{Key: "a", Value: []byte("x"), Ref: a.Ref}); r.Err != nil || r.Ref == a.Ref {
		t.Fatalf("a in another store through this one's ref: %+v", r)
	}
	if r := one(s, store.Swap{Key: "a", Expect: 1, Value: []byte("lost"), Ref: "a"}); !errors.Is(r.Err, store.ErrConflict) {
		t.Fatalf("a with a ref of another type: %v, want a conflict", r.Err)
	}
	if r := one(s, store.Swap{Key: "", Value: []byte("lost"), Ref: a.Ref}); !errors.Is(r.Err, store.ErrInvalidKey) {
		t.Fatalf("an invalid key with a live ref: %v", r.Err)
	}
	e, _ := s.Get(ctx, "a")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, logstore.Options{Path: path})
	if r := one(s, store.Swap{Key: "a", Expect: e.Version, Value: []byte("a4"), Ref: a.Ref}); r.Err != nil || r.Ref == a.Ref {
		t.Fatalf("a after a reopen through the closed store's ref: %+v", r)
	}
	if got, _ := s.Get(ctx, "a"); string(got.Value) != "a4" {
		t.Fatalf("a after the reopen: %+v", got)
	}
}
