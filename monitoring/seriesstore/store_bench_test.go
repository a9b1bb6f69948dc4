package seriesstore_test

import (
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/rrd"
	"github.com/wharfhq/wharf/monitoring/seriesstore"
)

// BenchmarkStoreUpdate is one point each for 1,000 series per Update call
// (one log write and fsync per call); ns/op is per point.
func BenchmarkStoreUpdate(b *testing.B) {
	st, err := seriesstore.Open(seriesstore.Options{Dir: b.TempDir(), Logger: quietLogger(), MaxOpen: 2000})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 1000
	pts := make([]seriesstore.Point, n)
	for i := range pts {
		pts[i] = seriesstore.Point{Key: fmt.Sprintf("host%04d/cpu.idle", i), Step: 60, CounterType: "GAUGE"}
	}
	t := int64(1_700_000_000)
	for i := range pts { // create the series before timing
		pts[i].Time = t
	}
	if _, err := st.Update(pts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var done int
	for b.Loop() {
		t += 60
		for i := range pts {
			pts[i].Time, pts[i].Value = t, float64(i)
		}
		if _, err := st.Update(pts); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/point")
}

// BenchmarkStoreFetch answers the last 12 hours at the finest resolution
// (720 rows) of one series kept open.
func BenchmarkStoreFetch(b *testing.B) {
	st, err := seriesstore.Open(seriesstore.Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t := int64(1_700_000_000)
	pts := make([]seriesstore.Point, 0, 1000)
	for i := range 2000 {
		t += 60
		pts = append(pts, seriesstore.Point{Key: "h/m", Step: 60, CounterType: "GAUGE", Time: t, Value: float64(i)})
		if len(pts) == cap(pts) {
			if _, err := st.Update(pts); err != nil {
				b.Fatal(err)
			}
			pts = pts[:0]
		}
	}
	q := rrd.Query{CF: rrd.Average, Start: t - 720*60, End: t, Step: 60}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Fetch("h/m", q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreUpdateEvicting is BenchmarkStoreUpdate with more series
// than the one-file-per-series layout kept open (MaxOpen, 1,024): 4,000
// series updated in turn. That layout opened, mapped, unmapped and closed
// a file on every point here (what a shard holding 12,500 of 100,000
// series did on every point); with segments mapped once it should cost
// what BenchmarkStoreUpdate does. ns/op is per 4,000 points.
func BenchmarkStoreUpdateEvicting(b *testing.B) {
	st, err := seriesstore.Open(seriesstore.Options{Dir: b.TempDir(), Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 4000
	pts := make([]seriesstore.Point, n)
	for i := range pts {
		pts[i] = seriesstore.Point{Key: fmt.Sprintf("host%04d/cpu.idle", i), Step: 60, CounterType: "GAUGE"}
	}
	t := int64(1_700_000_000)
	for i := range pts { // create the series before timing
		pts[i].Time = t
	}
	if _, err := st.Update(pts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var done int
	for b.Loop() {
		t += 60
		for i := range pts {
			pts[i].Time, pts[i].Value = t, float64(i)
		}
		if _, err := st.Update(pts); err != nil {
			b.Fatal(err)
		}
		done += n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/point")
}

// BenchmarkStoreUpdateDeferred: 20,000 series updated in turn, points
// applied to their slots at once (MaxDeferredPoints -1, what every
// Update did before deferral) or 200,000 at a time (every 10th Update
// applies them, in slot order; its cost is in the figure). ns/point
// includes the log fsync of each 20,000-point Update.
func BenchmarkStoreUpdateDeferred(b *testing.B) {
	for _, c := range []struct {
		name string
		max  int
	}{{"at-once", -1}, {"deferred", 200_000}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := seriesstore.Open(seriesstore.Options{Dir: b.TempDir(), Logger: quietLogger(), MaxDeferredPoints: c.max})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			const n = 20000
			pts := make([]seriesstore.Point, n)
			t := int64(1_700_000_000)
			for i := range pts {
				pts[i] = seriesstore.Point{Key: fmt.Sprintf("host%05d/cpu.idle/core=%d", i, i%8), Step: 30, CounterType: "GAUGE", Time: t}
			}
			if _, err := st.Update(pts); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var done int
			for b.Loop() {
				t += 30
				for i := range pts {
					pts[i].Time, pts[i].Value = t, float64(i%97)
				}
				if _, err := st.Update(pts); err != nil {
					b.Fatal(err)
				}
				done += n
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/point")
		})
	}
}

// smallSpec is a one-archive layout (16 rows: a 8 KiB slot instead of
// Falcon's 72 KiB), so a benchmark can hold 100,000 series without
// writing gigabytes; what it measures is the per-point work around the
// archives (index, log, deferral), which does not depend on the layout.
func smallSpec(step int64, counterType string) (rrd.Spec, error) {
	t, err := rrd.ParseDSType(counterType)
	if err != nil {
		return rrd.Spec{}, err
	}
	return rrd.Spec{Step: step, Heartbeat: 2 * step, Type: t, Min: math.NaN(), Max: math.NaN(),
		Archives: []rrd.Archive{{CF: rrd.Average, PDPs: 1, Rows: 16}}}, nil
}

// BenchmarkStoreUpdate100k: 100,000 existing series (keys shaped like the
// monitoring bench's: host-<i/10>/bench.load/env=bench,k=<i%10>), batches
// of 1,000 points going round them as a pusher does, each pass one step
// later. Default deferral and checkpoint by log size. sync-every-1: one
// Update (one log fsync) per batch, as the series writer did; sync-every-20:
// Append per batch and one Sync per 20 (the writer's group fsync: 20,000
// points is about 50 ms of a shard at 400,000 points/s). ns/point,
// cpu-ns/point, allocs/point and syncs are per point; max-append-ms is
// the longest Append (the writer waiting for the store: an apply of the
// waiting points or a checkpoint while it holds the store).
func BenchmarkStoreUpdate100k(b *testing.B) {
	for _, every := range []int{1, 20} {
		b.Run(fmt.Sprintf("sync-every-%d", every), func(b *testing.B) { benchUpdate100k(b, every) })
	}
}

func benchUpdate100k(b *testing.B, syncEvery int) {
	st, err := seriesstore.Open(seriesstore.Options{Dir: b.TempDir(), Logger: quietLogger(), Spec: smallSpec})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const series, batch = 100_000, 1000
	keys := make([]string, series)
	for i := range keys {
		keys[i] = fmt.Sprintf("host-%d/bench.load/env=bench,k=%d", i/10, i%10)
	}
	pts := make([]seriesstore.Point, batch)
	t0 := int64(1_700_000_000)
	next := 0 // the series of the next point
	fill := func() {
		for i := range pts {
			n := next + i
			pts[i] = seriesstore.Point{Key: keys[n%series], Step: 30, CounterType: "GAUGE", Time: t0 + int64(n/series)*30, Value: float64(n % 97)}
		}
		next += batch
	}
	for next < 2*series { // create the series, and their queues, before timing
		fill()
		if _, err := st.Update(pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	var done int
	var longest time.Duration // the longest Append: how long the writer waited
	cpu0, syncs0 := cpuTime(b), st.Syncs()
	for b.Loop() {
		fill()
		start := time.Now()
		if _, err := st.Append(pts); err != nil {
			b.Fatal(err)
		}
		longest = max(longest, time.Since(start))
		done += batch
		if done%(syncEvery*batch) == 0 {
			if err := st.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := st.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/point")
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(done), "cpu-ns/point")
	b.ReportMetric(float64(st.Syncs()-syncs0)/b.Elapsed().Seconds(), "syncs/s")
	b.ReportMetric(float64(longest.Microseconds())/1000, "max-append-ms")
}

// cpuTime is the process' user and system CPU time so far, in ns: what a
// point costs the machine, where wall time also holds the fsync's wait
// (which varies with what else the disk does).
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
