package seriesstore_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// legacyDir writes a directory of the old layout as the old store left it
// after a crash: series files as of its last checkpoint (the model after
// the first batch), one rotten file, and a log of the second batch (base
// images of the series it touched, new ones flagged, then the points).
// It returns the model of every acknowledged point.
func legacyDir(t *testing.T, dir string) *model {
	t.Helper()
	m := newModel()
	r := rand.New(rand.NewPCG(21, 22))
	clock := int64(1_750_000_000)
	keys := keysN(9)
	typ := func(k string) rrd.DSType {
		for i, key := range keys {
			if key == k {
				return rrd.DSType([]rrd.DSType{rrd.Gauge, rrd.Counter, rrd.Derive}[i%3])
			}
		}
		t.Fatalf("no key %q", k)
		return 0
	}
	first := points(r, keys[:6], 300, &clock)
	m.apply(t, first)
	for k, s := range m.series {
		if err := seriesstore.WriteLegacySeries(dir, k, typ(k), s); err != nil {
			t.Fatal(err)
		}
	}
	spec, _ := rrd.FalconSpec(60, "GAUGE")
	rotten, _ := rrd.NewSeries(spec, clock)
	if err := seriesstore.WriteLegacySeries(dir, "rotten/x", rrd.Gauge, rotten); err != nil {
		t.Fatal(err)
	}
	p := seriesstore.LegacyPath(dir, "rotten/x")
	b, _ := os.ReadFile(p)
	b[40] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	second := points(r, keys, 300, &clock) // touches old series, creates keys[6:]
	var recs []seriesstore.LegacyRecord
	based := map[string]bool{}
	for _, pt := range second {
		if !based[pt.Key] {
			based[pt.Key] = true
			base, isNew := m.series[pt.Key], false
			if base == nil {
				spec, _ := rrd.FalconSpec(pt.Step, pt.CounterType)
				base, _ = rrd.NewSeries(spec, pt.Time-86400)
				isNew = true
			}
			recs = append(recs, seriesstore.LegacyRecord{Key: pt.Key, CounterType: typ(pt.Key),
				Base: &rrd.Series{Spec: base.Spec, State: base.State.Clone()}, New: isNew})
		}
		recs = append(recs, seriesstore.LegacyRecord{Key: pt.Key, Time: pt.Time, Value: pt.Value})
	}
	if err := seriesstore.WriteLegacyLog(dir, recs); err != nil {
		t.Fatal(err)
	}
	m.apply(t, second)
	return m
}

// TestOpenMigratesTheOldLayout: a directory of one file per series, left
// by a crash (files behind, the log ahead), opens as segment slots holding
// every acknowledged point; the old files are gone, the rotten one kept
// aside, and the result survives a reopen.
func TestOpenMigratesTheOldLayout(t *testing.T) {
	dir := t.TempDir()
	m := legacyDir(t, dir)
	st := open(t, dir, fourSlots)
	m.compare(t, st)
	for _, gone := range []string{"series", "series.old"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Fatalf("%s still there: %v", gone, err)
		}
	}
	if got := corruptFiles(t, dir); len(got) != 1 {
		t.Fatalf("rotten file not kept aside: %v", got)
	}
	pts := []seriesstore.Point{{Key: "after/x", Step: 60, CounterType: "GAUGE", Time: 1_760_000_000, Value: 3}}
	if _, err := st.Update(pts); err != nil {
		t.Fatal(err)
	}
	m.apply(t, pts)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, dir, fourSlots)
	defer st.Close()
	m.compare(t, st)
}

// TestInterruptedMigrationsComplete: a crash before the migration
// committed (slots written, old files still there) starts it over from the
// old files; a crash after it committed (old directory renamed, old log
// not yet dropped) replays the old log onto the slots again. Both end
// with every acknowledged point.
func TestInterruptedMigrationsComplete(t *testing.T) {
	t.Run("before commit", func(t *testing.T) {
		dir := t.TempDir()
		m := legacyDir(t, dir)
		junk := filepath.Join(dir, "slots", "73728")
		if err := os.MkdirAll(junk, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(junk, "000000.seg"), []byte("half an import"), 0o600); err != nil {
			t.Fatal(err)
		}
		st := open(t, dir, fourSlots)
		defer st.Close()
		m.compare(t, st)
	})
	t.Run("after commit", func(t *testing.T) {
		dir := t.TempDir()
		m := legacyDir(t, dir)
		wal, err := os.ReadFile(filepath.Join(dir, "wal", "000000000007.log"))
		if err != nil {
			t.Fatal(err)
		}
		st := open(t, dir, fourSlots)
		st.Abandon()
		// The state between the commit (rename) and the checkpoint that
		// drops the old log.
		if err := os.MkdirAll(filepath.Join(dir, "series.old", "ab"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(dir, "wal")); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "wal", "000000000007.log"), wal, 0o600); err != nil {
			t.Fatal(err)
		}
		st = open(t, dir, fourSlots)
		defer st.Close()
		m.compare(t, st)
		if _, err := os.Stat(filepath.Join(dir, "series.old")); !os.IsNotExist(err) {
			t.Fatalf("series.old still there: %v", err)
		}
	})
}
