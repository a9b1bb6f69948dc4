package judge

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/store/logstore"
	"github.com/wharfhq/wharf/internal/store/redisstore"
	"github.com/wharfhq/wharf/internal/testenv"
	"github.com/wharfhq/wharf/monitoring/metric"
	"github.com/wharfhq/wharf/monitoring/strategy"
)

// BenchmarkHandleBatch judges batches of 1,000 points of 1,000 series (a
// full push batch, as the monitor publishes them) against one matching
// strategy that stays OK, through a real buntdb file, serve's log store
// and a real Redis (roles): one op is one batch; points/s is reported. The 8shards
// variants judge 8 shards' batches at once, as serve's judge does (one op
// is then 8 batches).
func BenchmarkHandleBatch(b *testing.B) {
	stores := map[string]func(b *testing.B) store.Store{
		"buntdb": func(b *testing.B) store.Store {
			st, err := buntstore.Open(buntstore.Options{Path: filepath.Join(b.TempDir(), "store.db")})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
		"logstore": func(b *testing.B) store.Store { // serve's state store
			st, err := logstore.Open(logstore.Options{Path: filepath.Join(b.TempDir(), "states.log")})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
		"redis": func(b *testing.B) store.Store {
			r := testenv.StartRedis(b)
			st, err := redisstore.Open(context.Background(), redisstore.Options{Addr: r.Addr})
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"buntdb", "logstore", "redis"} {
		for _, shards := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/%dshards", name, shards), func(b *testing.B) {
				st := stores[name](b)
				b.Cleanup(func() { _ = st.Close() })
				benchHandle(b, st, 1000, shards, false, "")
			})
		}
	}
	// serve's path: the states cached per held shard (write-behind), each
	// batch flushed as it is judged (a direct call is not held).
	for _, shards := range []int{1, 8} {
		b.Run(fmt.Sprintf("logstore-cached/%dshards", shards), func(b *testing.B) {
			st := stores["logstore"](b)
			b.Cleanup(func() { _ = st.Close() })
			benchHandle(b, st, 1000, shards, true, "")
		})
	}
	// serve's path with the bench load's series: two tags each
	// (bench/monitoring: env=bench,k=<i%10>).
	for _, shards := range []int{1, 8} {
		b.Run(fmt.Sprintf("logstore-cached-tags/%dshards", shards), func(b *testing.B) {
			st := stores["logstore"](b)
			b.Cleanup(func() { _ = st.Close() })
			benchHandle(b, st, 1000, shards, true, "env=bench")
		})
	}
}

// benchHandle judges batches of series points per shard; tags (canonical,
// may be empty) plus ",k=<series%10>" when not empty are each point's tags.
func benchHandle(b *testing.B, st store.Store, series, shards int, cached bool, tags string) {
	nsqd := testenv.StartNSQD(b)
	p, err := bus.NewProducer(bus.ProducerOptions{Addrs: []string{nsqd.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	j, err := New(Options{Store: st, Publisher: p, NSQDAddrs: []string{nsqd.Addr}, Shards: shards})
	if err != nil {
		b.Fatal(err)
	}
	src, _ := json.Marshal(strategy.Strategy{ID: "cpu", Team: "shop", Metric: "cpu.busy", Func: "all(#3)", Operator: ">", RightValue: 90, MaxStep: 3})
	c, err := compileSource(src)
	if err != nil {
		b.Fatal(err)
	}
	j.strat.all = map[string]*judged{"cpu": c}
	if cached {
		for sh := range shards {
			j.caches[sh] = newShardCache()
		}
	}
	t0 := time.Now().Unix()/60*60 - 3600*24
	batch := func(shard, i int) []byte {
		pts := make([]metric.Point, series)
		for s := range pts {
			pts[s] = metric.Point{Endpoint: "host-" + strconv.Itoa(shard) + "-" + strconv.Itoa(s), Metric: "cpu.busy", CounterType: "GAUGE", Step: 60,
				Time: t0 + int64(i)*60, Value: float64(s % 80)}
			if tags != "" {
				pts[s].Tags = tags + ",k=" + strconv.Itoa(s%10)
			}
		}
		return metric.AppendBatch(nil, pts)
	}
	ctx := context.Background()
	// Each shard's goroutine judges its batches in order, as a shard's
	// consumer does; the first 4 fill the windows (steady state after).
	// The bodies are built before the clock (and the allocation count)
	// starts.
	run := func(first, n int) time.Duration {
		bodies := make([][][]byte, shards)
		for sh := range bodies {
			for i := range n {
				bodies[sh] = append(bodies[sh], batch(sh, first+i))
			}
		}
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for sh := range shards {
			wg.Go(func() {
				for _, body := range bodies[sh] {
					if err := j.handle(ctx, sh, body); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	run(0, 4)
	b.ReportAllocs()
	took := run(4, b.N)
	b.ReportMetric(float64(b.N*series*shards)/took.Seconds(), "points/s")
}

// BenchmarkHandleLoad is serve's cached path on the bench load's shape
// (bench/monitoring): 12,500 series in the shard (100,000 over 8),
// endpoint host-<i/10> and tags env=bench,k=<i%10>, batches of 125
// consecutive series (a 1,000-point push split over 8 shards). One op is
// one batch; ns/point is reported. each-batch flushes every batch as it is
// judged (a direct call: one state write per point); held holds the
// batches as serve's consumer does and flushes once MaxHeld (512, the
// default) of them wait, about five points per state write, as in serve
// under the bench; held-<n> flushes once n wait. held/8shards is held with
// all 100,000 series, series i in shard i%8 and the batches going round
// the shards (as serve's judge sees them): eight times the memory touched
// between two points of a series, closer to serve's cache misses.
func BenchmarkHandleLoad(b *testing.B) {
	b.Run("each-batch", func(b *testing.B) { benchHandleLoad(b, 0, 1) })
	b.Run("held", func(b *testing.B) { benchHandleLoad(b, 512, 1) })
	for _, n := range []int{1024, 1536} {
		b.Run("held-"+strconv.Itoa(n), func(b *testing.B) { benchHandleLoad(b, n, 1) })
	}
	b.Run("held/8shards", func(b *testing.B) { benchHandleLoad(b, 512, 8) })
}

func benchHandleLoad(b *testing.B, maxHeld, shards int) {
	held := maxHeld > 0
	j, _ := newLogstoreJudge(b, shards)
	if held {
		j.opts.MaxHeld = maxHeld
	}
	j.strat.set("load", mustCompile(b, strategy.Strategy{ID: "load", Team: "shop", Metric: "bench.load", Func: "all(#3)", Operator: ">", RightValue: 1e18, MaxStep: 3}))
	const series, per = 12500, 125 // per shard
	t0 := time.Now().Unix()/30*30 - 3600*24*400
	batch := func(n int) (int, []byte) { // the n-th batch of the load and its shard
		sh, n := n%shards, n/shards
		pts := make([]metric.Point, per)
		pass, first := n/(series/per), n%(series/per)*per
		for k := range pts {
			i := (first+k)*shards + sh
			pts[k] = metric.Point{Endpoint: "host-" + strconv.Itoa(i/10), Metric: "bench.load", Tags: "env=bench,k=" + strconv.Itoa(i%10),
				CounterType: "GAUGE", Step: 30, Time: t0 + int64(pass)*30, Value: float64(i % 100)}
		}
		return sh, metric.AppendBatch(nil, pts)
	}
	ctx := context.Background()
	n := 0
	for range 4 * shards * series / per { // four passes: every window full
		sh, body := batch(n)
		if err := j.handle(ctx, sh, body); err != nil {
			b.Fatal(err)
		}
		n++
	}
	bodies := make([][]byte, 0, b.N)
	shardOf := make([]int, 0, b.N)
	msgs := make([]*bus.Message, 0, b.N)
	for i := range b.N {
		sh, body := batch(n + i)
		bodies, shardOf = append(bodies, body), append(shardOf, sh)
		var m *bus.Message
		if held {
			m = &bus.Message{}
		}
		msgs = append(msgs, m)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	for i, body := range bodies {
		if err := j.handleMessage(ctx, shardOf[i], body, msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU(b) - cpu0
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*per), "ns/point")
	// The process's CPU time (GC included) per point: steadier than the
	// wall time on a machine that others share.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*per), "cpu-ns/point")
}

// processCPU is the CPU time (user and system) the process used so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
