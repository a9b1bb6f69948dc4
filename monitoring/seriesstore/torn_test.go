package seriesstore_test

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// snapshot reads every file under dir (relative path → content).
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// restore makes dir hold exactly files.
func restore(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for _, sub := range []string{"slots", "wal", "corrupt"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	for rel, b := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// torn mixes the checkpointed and the latest content of a file the way an
// interrupted write-back can leave it: whole, old, sector by sector, or cut
// in the middle of a record with the old content after the cut.
func torn(r *rand.Rand, old, cur []byte) []byte {
	out := append([]byte(nil), cur...)
	switch r.IntN(4) {
	case 0: // the latest content made it
	case 1: // none of it made it
		if old != nil {
			copy(out, old)
		}
	case 2: // some 512-byte sectors made it
		if old != nil {
			for off := 0; off < len(out); off += 512 {
				if r.IntN(2) == 0 {
					copy(out[off:], old[off:min(off+512, len(old))])
				}
			}
		}
	case 3: // cut mid-record: new up to a random byte, old after it
		cut := 1 + r.IntN(len(out)-1)
		if cut%8 == 0 {
			cut++
		}
		if old != nil {
			copy(out[cut:], old[cut:])
		} else {
			out = out[:cut] // a new file: truncated mid-record
		}
	}
	return out
}

// TestTornSeriesFilesRecover crashes after a checkpoint and more updates,
// tears the series files in many ways, and wants the recovered store to
// equal the model of every acknowledged point.
func TestTornSeriesFilesRecover(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	m := newModel()
	r := rand.New(rand.NewPCG(3, 4))
	clock := int64(1_750_000_000)
	keys := keysN(8)
	for range 10 {
		pts := points(r, keys[:5], 150, &clock)
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
		m.apply(t, pts)
	}
	if err := st.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	checkpointed := snapshot(t, dir)
	for range 5 { // touches old series and creates keys[5:]
		pts := points(r, keys, 150, &clock)
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
		m.apply(t, pts)
	}
	st.Abandon()
	latest := snapshot(t, dir)
	for round := range 25 {
		crash := make(map[string][]byte)
		for rel, cur := range latest {
			if strings.HasPrefix(rel, "wal") {
				crash[rel] = cur // acknowledged: fsynced
				continue
			}
			crash[rel] = torn(r, checkpointed[rel], cur)
		}
		restore(t, dir, crash)
		st := open(t, dir)
		m.compare(t, st)
		st.Abandon()
		if t.Failed() {
			t.Fatalf("round %d", round)
		}
	}
}

// TestTornLogTailRecovers crashes while the log of the last batch was being
// written: the files have none of it and the log ends mid-record.
func TestTornLogTailRecovers(t *testing.T) {
	for _, cutAt := range []string{"first record", "last record"} {
		t.Run(cutAt, func(t *testing.T) {
			dir := t.TempDir()
			st := open(t, dir)
			m := newModel()
			r := rand.New(rand.NewPCG(5, 6))
			clock := int64(1_750_000_000)
			keys := keysN(4)
			pts := points(r, keys, 300, &clock)
			if _, err := st.Update(pts); err != nil {
				t.Fatal(err)
			}
			m.apply(t, pts)
			before := snapshot(t, dir)
			last := points(r, keys, 20, &clock)
			if _, err := st.Update(last); err != nil {
				t.Fatal(err)
			}
			st.Abandon()
			after := snapshot(t, dir)
			crash := make(map[string][]byte)
			for rel, b := range before {
				crash[rel] = b
			}
			for rel, b := range after {
				if strings.HasPrefix(rel, "wal") {
					from := len(before[rel])
					switch cutAt {
					case "first record":
						crash[rel] = b[:from+5]
					case "last record":
						// The batch's points are one record (kindPoints):
						// torn, it loses the whole batch, which was never
						// acknowledged; the records before it stay.
						crash[rel] = b[:len(b)-3]
					}
				}
			}
			restore(t, dir, crash)
			st = open(t, dir)
			defer st.Close()
			m.compare(t, st)
		})
	}
}

// rot flips a byte of the header of key's slot in its segment file.
func rot(t *testing.T, path string, off int64, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off+at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off+at); err != nil {
		t.Fatal(err)
	}
}

// corruptFiles lists what the store set aside under dir.
func corruptFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "corrupt", "*.corrupt-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCorruptFilesDoNotStopTheStore: a flipped byte inside the log and a
// slot whose header rotted while no log covered it. The store opens,
// copies the rotten slot aside, frees it and keeps serving the others.
func TestCorruptFilesDoNotStopTheStore(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	m := newModel()
	r := rand.New(rand.NewPCG(7, 8))
	clock := int64(1_750_000_000)
	keys := keysN(4)
	pts := points(r, keys, 400, &clock)
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	m.apply(t, pts)
	seg, off, ok := st.SlotOf(keys[0])
	if !ok {
		t.Fatal("no slot")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rot(t, seg, off, 100)
	delete(m.series, keys[0])

	st = open(t, dir)
	m.compare(t, st)
	if got := corruptFiles(t, dir); len(got) != 1 {
		t.Fatalf("rotten slot not copied aside: %v", got)
	}
	if _, _, ok := st.SlotOf(keys[0]); ok {
		t.Fatal("rotten series still indexed")
	}
	more := points(r, keys[1:], 200, &clock)
	if _, err := st.Update(more); err != nil {
		t.Fatal(err)
	}
	st.Abandon()
	wal := filepath.Join(dir, "wal")
	ents, _ := os.ReadDir(wal)
	for _, e := range ents {
		p := filepath.Join(wal, e.Name())
		b, _ := os.ReadFile(p)
		if len(b) > 0 {
			b[len(b)/2] ^= 0x55
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	st = open(t, dir)
	defer st.Close()
	if st.Len() != 3 {
		t.Fatalf("%d series after a corrupt log, want 3", st.Len())
	}
}

// TestSeriesRottingWhileRunningStartsAnew: a slot's header rots after the
// store indexed it. The next point for it copies the slot aside, frees it
// and starts the series anew (in the freed slot); the store and the other
// series go on.
func TestSeriesRottingWhileRunningStartsAnew(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	m := newModel()
	r := rand.New(rand.NewPCG(9, 10))
	clock := int64(1_750_000_000)
	keys := keysN(3)
	pts := points(r, keys, 300, &clock)
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	m.apply(t, pts)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir)
	defer st.Close()
	seg, off, _ := st.SlotOf(keys[0])
	rot(t, seg, off, 50) // through the file: the mapping shares its pages
	next := seriesstore.Point{Key: keys[0], Step: 60, CounterType: "GAUGE", Time: clock + 600, Value: 7}
	res, err := st.Update([]seriesstore.Point{next})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("update after rot: %+v, %v", res, err)
	}
	delete(m.series, keys[0])
	m.apply(t, []seriesstore.Point{next})
	m.compare(t, st)
	if got := corruptFiles(t, dir); len(got) != 1 {
		t.Fatalf("rotten slot not kept aside: %v", got)
	}
	seg2, off2, _ := st.SlotOf(keys[0])
	if seg2 != seg || off2 != off {
		t.Fatalf("the series restarted in %s@%d, not in its freed slot %s@%d", seg2, off2, seg, off)
	}
}

// TestLogOfManyRecordsReplays: an Update's points go to the log many to a
// record, named by their series' base image in the segment; batches that
// take several records each, new series among existing ones, replay
// exactly after a crash that left the slots unsynced.
func TestLogOfManyRecordsReplays(t *testing.T) {
	dir := t.TempDir()
	st := open(t, dir)
	m := newModel()
	r := rand.New(rand.NewPCG(7, 8))
	clock := int64(1_750_000_000)
	keys := keysN(60)
	for _, n := range []int{6000, 9000} { // a record holds about 4,000 points; the second batch creates 20 series
		pts := points(r, keys[:n/150], n, &clock)
		if _, err := st.Update(pts); err != nil {
			t.Fatal(err)
		}
		m.apply(t, pts)
	}
	st.Abandon()
	st = open(t, dir)
	defer st.Close()
	m.compare(t, st)
}
