package ratelimit

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func TestConnLimiter(t *testing.T) {
	if _, err := NewConnLimiter(ConnOptions{Max: 0}); err == nil {
		t.Fatal("max 0 accepted")
	}
	if _, err := NewConnLimiter(ConnOptions{Max: 1, MaxKeys: -1}); err == nil {
		t.Fatal("negative MaxKeys accepted")
	}
	c, err := NewConnLimiter(ConnOptions{Max: 2})
	if err != nil {
		t.Fatal(err)
	}
	k := []byte("1.2.3.4")
	a, ok1 := c.Acquire(k)
	b, ok2 := c.Acquire(k)
	_, ok3 := c.Acquire(k)
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("%v %v %v", ok1, ok2, ok3)
	}
	if _, ok := c.Acquire([]byte("other")); !ok {
		t.Fatal("other key limited")
	}
	a.Release()
	a.Release() // idempotent
	if n := c.InFlight(k); n != 1 {
		t.Fatalf("in flight %d after double release", n)
	}
	x, ok := c.Acquire(k)
	if !ok {
		t.Fatal("slot not returned")
	}
	if _, ok := c.Acquire(k); ok {
		t.Fatal("over max")
	}
	x.Release()
	b.Release()
	var empty ConnToken
	empty.Release()
	if tok, ok := c.Acquire(nil); !ok || tok.e != nil {
		t.Fatal("empty key should be unlimited")
	}
	if n := c.InFlight(k); n != 0 {
		t.Fatalf("in flight %d", n)
	}
	// Existing (idle or busy) key: no allocation.
	if n := testing.AllocsPerRun(1000, func() {
		tok, _ := c.Acquire(k)
		tok.Release()
	}); n != 0 {
		t.Fatalf("Acquire allocs %v", n)
	}
}

func TestConnLimiterEvictsIdle(t *testing.T) {
	t.Parallel()
	c, _ := NewConnLimiter(ConnOptions{Max: 1, MaxKeys: 64})
	busy, _ := c.Acquire([]byte("busy"))
	for i := 0; i < 10000; i++ {
		tok, ok := c.Acquire([]byte("k" + strconv.Itoa(i)))
		if !ok {
			t.Fatal("new key limited")
		}
		tok.Release()
	}
	if n := c.Len(); n > 2*64+1 {
		t.Fatalf("idle keys not evicted: %d", n)
	}
	if _, ok := c.Acquire([]byte("busy")); ok {
		t.Fatal("busy key lost its count")
	}
	busy.Release()
}

func TestConnLimiterConcurrent(t *testing.T) {
	t.Parallel()
	const max, workers, iters = 3, 16, 2000
	c, _ := NewConnLimiter(ConnOptions{Max: max, MaxKeys: 128})
	keys := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	var inFlight [3]atomic.Int64
	var rejected atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < iters; i++ {
				ki := (w + i) % len(keys)
				tok, ok := c.Acquire(keys[ki])
				if !ok {
					rejected.Add(1)
					continue
				}
				if n := inFlight[ki].Add(1); n > max {
					t.Errorf("key %d: %d in flight > %d", ki, n, max)
				}
				if i%7 == 0 {
					// churn other keys to exercise sweeping
					t2, _ := c.Acquire([]byte("x" + strconv.Itoa(w*iters+i)))
					t2.Release()
				}
				inFlight[ki].Add(-1)
				tok.Release()
				tok.Release()
			}
		}(w)
	}
	wg.Wait()
	for _, k := range keys {
		if n := c.InFlight(k); n != 0 {
			t.Fatalf("%s: %d in flight after all released", k, n)
		}
	}
	t.Logf("rejected %d of %d", rejected.Load(), workers*iters)
}

func TestDecideConcurrent(t *testing.T) {
	t.Parallel()
	// Under -race: many goroutines, two limits, keys overlapping. Total passes
	// for one key at a frozen clock must equal burst+1.
	l, err := New([]Limit{{Rate: 1000, Burst: 9, Delay: NoDelay}, {Rate: 1000, Burst: 1000, Delay: NoDelay}},
		Options{Clock: func() int64 { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	var passed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := [][]byte{[]byte("ip"), []byte("host")}
			for i := 0; i < 100; i++ {
				if l.Decide(keys).Outcome == Passed {
					passed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if passed.Load() != 10 {
		t.Fatalf("passed %d, want 10", passed.Load())
	}
	// host limit charged only for the 10 passes: excess 9000 → 991 more fit.
	n := 0
	for l.Decide([][]byte{nil, []byte("host")}).Outcome == Passed {
		n++
	}
	if n != 991 {
		t.Fatalf("host admitted %d more, want 991 (rejected requests were charged?)", n)
	}
}

func BenchmarkConnAcquire(b *testing.B) {
	c, _ := NewConnLimiter(ConnOptions{Max: 100})
	b.Run("serial", func(b *testing.B) {
		k := []byte("203.0.113.7")
		b.ReportAllocs()
		for b.Loop() {
			tok, _ := c.Acquire(k)
			tok.Release()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var id atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			k := []byte("198.51.100." + strconv.Itoa(int(id.Add(1))))
			for pb.Next() {
				tok, _ := c.Acquire(k)
				tok.Release()
			}
		})
	})
}
