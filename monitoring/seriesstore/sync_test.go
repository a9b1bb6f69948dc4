package seriesstore_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// Append writes the log without an fsync, and no page of a series file
// is written before the log records it depends on are synced: whatever
// writes pages (a read applying a series' waiting points, a checkpoint,
// the bound of waiting points, applying at once) syncs the log first. A
// power cut that keeps every page written but loses the unsynced part of
// the log (the worst case the rule allows) therefore loses only points no
// sync covered, and never leaves a series the log does not explain.
func TestAppendSyncsTheLogBeforeAnyPageIsWritten(t *testing.T) {
	t.Parallel()
	writers := []struct {
		name  string
		opts  func(*seriesstore.Options)
		write func(t *testing.T, st *seriesstore.Store, key string)
		// synced: the appended points survive the cut
		synced bool
	}{
		{name: "nothing", write: func(*testing.T, *seriesstore.Store, string) {}},
		{name: "sync", synced: true, write: func(t *testing.T, st *seriesstore.Store, _ string) {
			if err := st.Sync(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "read", synced: true, write: func(t *testing.T, st *seriesstore.Store, key string) {
			if _, err := st.Info(key); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "checkpoint", synced: true, write: func(t *testing.T, st *seriesstore.Store, _ string) {
			if err := st.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "deferred-bound", synced: true, opts: func(o *seriesstore.Options) { o.MaxDeferredPoints = 50 }},
		{name: "at-once", synced: true, opts: func(o *seriesstore.Options) { o.MaxDeferredPoints = -1 }},
	}
	for _, tc := range writers {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mods := []func(*seriesstore.Options){}
			if tc.opts != nil {
				mods = append(mods, tc.opts)
			}
			st := open(t, dir, mods...)
			r := rand.New(rand.NewPCG(3, 4))
			keys := keysN(8)
			clock := int64(1_750_000_000)
			first := points(r, keys[:6], 120, &clock)
			if _, err := st.Update(first); err != nil {
				t.Fatal(err)
			}
			m := newModel()
			m.apply(t, first)
			synced := st.Syncs()
			more := points(r, keys, 200, &clock) // two series are new
			if _, err := st.Append(more); err != nil {
				t.Fatal(err)
			}
			if tc.write != nil {
				tc.write(t, st, keys[0])
			}
			if !tc.synced {
				if got := st.Syncs(); got != synced {
					t.Fatalf("append synced the log (%d syncs, %d before)", got, synced)
				}
				for _, key := range keys[6:] { // new series: not in their slots before the sync
					path, off, ok := st.SlotOf(key)
					if !ok {
						t.Fatalf("new series %q is not indexed", key)
					}
					if hdr := readAt(t, path, off, 4096); !bytes.Equal(hdr, make([]byte, len(hdr))) {
						t.Fatalf("new series %q was written into its slot before the log was synced", key)
					}
				}
			} else if st.Syncs() == synced {
				t.Fatal("the log was not synced")
			}
			if err := seriesstore.PowerCut(st); err != nil {
				t.Fatal(err)
			}
			if tc.synced {
				m.apply(t, more)
			}
			re := open(t, dir, mods...)
			defer re.Close()
			m.compare(t, re)
		})
	}
}

func readAt(t *testing.T, path string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}
