package rooms

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func eightRooms() Distribution {
	d := Distribution{}
	for i := range 8 {
		d[fmt.Sprintf("r%d", i)] = float64(i + 1) // 1/36 .. 8/36
	}
	return d
}

func normalised(d Distribution) Distribution {
	sum := 0.0
	for _, v := range d {
		sum += v
	}
	n := Distribution{}
	for r, v := range d {
		n[r] = v / sum
	}
	return n
}

func TestChooserPickShares(t *testing.T) {
	t.Parallel()
	for _, d := range []Distribution{{"bj": 0.9, "sh": 0.1}, {"bj": 0.5, "sh": 0.5, "gz": 0}, eightRooms()} {
		c := NewChooser(d)
		rnd := rand.New(rand.NewPCG(1, 2))
		const n = 1000000
		counts := map[string]int{}
		for range n {
			counts[c.Pick(rnd.Uint64())]++
		}
		for r, want := range normalised(d) {
			if got := float64(counts[r]) / n; !near(got, want, 0.003) {
				t.Errorf("%v: room %s got %.4f of picks, want %.4f", d, r, got, want)
			}
		}
	}
}

func TestChooserEdges(t *testing.T) {
	t.Parallel()
	c := NewChooser(Distribution{"bj": 0.25, "sh": 0.75})
	if c.Pick(0) != "bj" || c.Pick(math.MaxUint64) != "sh" || c.Pick(1<<62-1) != "bj" || c.Pick(1<<62) != "sh" {
		t.Fatal("Pick boundaries wrong")
	}
	empty := NewChooser(Distribution{"bj": 0, "sh": math.NaN(), "gz": -1, "x": math.Inf(1)})
	if empty.Len() != 0 || empty.Pick(42) != "" || empty.PickIndex(42) != -1 || empty.PickSticky([]byte("k")) != "" || empty.PickStickyIndex(nil) != -1 {
		t.Fatal("empty chooser picked something")
	}
	one := NewChooser(Distribution{"sh": 0.3, "bj": 0})
	if one.Pick(math.MaxUint64) != "sh" || one.PickSticky([]byte("k")) != "sh" || one.Room(0) != "sh" || len(one.Rooms()) != 1 {
		t.Fatal("single-room chooser")
	}
}

func keys(n int) [][]byte {
	k := make([][]byte, n)
	for i := range k {
		k[i] = []byte("10.1." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ":client")
	}
	return k
}

func TestChooserStickyShares(t *testing.T) {
	t.Parallel()
	ks := keys(100000)
	for _, d := range []Distribution{{"bj": 0.9, "sh": 0.1}, {"bj": 0.5, "sh": 0.5}, eightRooms()} {
		c := NewChooser(d)
		counts := map[string]int{}
		for _, k := range ks {
			counts[c.PickSticky(k)]++
		}
		for r, want := range normalised(d) {
			if got := float64(counts[r]) / float64(len(ks)); !near(got, want, 0.01) {
				t.Errorf("%v: room %s got %.4f of keys, want %.4f", d, r, got, want)
			}
		}
	}
}

// moves counts, for each key, the (before, after) pair of rooms.
func moves(a, b *Chooser, ks [][]byte) map[[2]string]int {
	m := map[[2]string]int{}
	for _, k := range ks {
		m[[2]string{a.PickSticky(k), b.PickSticky(k)}]++
	}
	return m
}

func TestChooserStickyStability(t *testing.T) {
	t.Parallel()
	ks := keys(100000)
	n := float64(len(ks))

	// Staged switch step: sh 10 % → 50 %. Keys only move into sh, and
	// just the 40 % that must.
	m := moves(NewChooser(Distribution{"bj": 0.9, "sh": 0.1}), NewChooser(Distribution{"bj": 0.5, "sh": 0.5}), ks)
	if m[[2]string{"sh", "bj"}] != 0 {
		t.Fatalf("%d keys moved from sh to bj", m[[2]string{"sh", "bj"}])
	}
	if got := float64(m[[2]string{"bj", "sh"}]) / n; !near(got, 0.4, 0.01) {
		t.Fatalf("%.4f of keys moved bj → sh, want 0.40", got)
	}
	// Adding weight to gz among three: keys move only into gz.
	m = moves(NewChooser(Distribution{"bj": 0.6, "sh": 0.3, "gz": 0.1}), NewChooser(Distribution{"bj": 0.4, "sh": 0.2, "gz": 0.4}), ks)
	for mv, c := range m {
		if mv[0] != mv[1] && mv[1] != "gz" {
			t.Fatalf("%d keys moved %s → %s", c, mv[0], mv[1])
		}
	}
	// A room dropping out (failover): only its keys move.
	m = moves(eightsChooser(nil), eightsChooser(map[string]float64{"r3": 0}), ks)
	for mv, c := range m {
		if mv[0] != mv[1] && mv[0] != "r3" {
			t.Fatalf("%d keys moved %s → %s", c, mv[0], mv[1])
		}
	}
	// Same shares, any order of construction: same room.
	a, b := NewChooser(Distribution{"bj": 0.5, "sh": 0.5}), NewChooser(Distribution{"sh": 1, "bj": 1})
	for _, k := range ks[:1000] {
		if a.PickSticky(k) != b.PickSticky(k) {
			t.Fatal("equal shares map keys differently")
		}
	}
}

func eightsChooser(override map[string]float64) *Chooser {
	d := eightRooms()
	for r, v := range override {
		d[r] = v
	}
	return NewChooser(d)
}

// The sticky hash must not change between releases: gateways of two
// versions would disagree and clients would bounce.
func TestHashKeyPinned(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want uint64
	}{{"", 0xb39362cb946013e3}, {"bj", 0x5784c9f547656546}, {"10.0.0.1", 0x9cd85d52b54c011e},
		{"a-longer-client-key-over-16-bytes", 0x1bddbf6393edcd53}} {
		if got := hashKey([]byte(tt.in)); got != tt.want {
			t.Errorf("hashKey(%q) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
}

func TestChooserNoAllocs(t *testing.T) {
	c := NewChooser(eightRooms())
	key := []byte("203.0.113.7")
	var sink int
	if a := testing.AllocsPerRun(1000, func() { sink += c.PickIndex(uint64(sink) * 0x9E3779B97F4A7C15) }); a != 0 {
		t.Errorf("Pick: %v allocs", a)
	}
	if a := testing.AllocsPerRun(1000, func() { sink += c.PickStickyIndex(key) }); a != 0 {
		t.Errorf("PickSticky: %v allocs", a)
	}
	if a := testing.AllocsPerRun(1000, func() { _ = c.Pick(1); _ = c.PickSticky(key) }); a != 0 {
		t.Errorf("Pick/PickSticky by name: %v allocs", a)
	}
}
