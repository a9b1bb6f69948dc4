package ring

import (
	"fmt"
	"hash/crc32"
	"math"
	"sort"
	"strconv"
	"testing"
)

// TestVectorsFromFalconFormula: vectors worked out by hand (with Python's
// zlib.crc32, an independent crc32) from toolkits/consistent's formula for
// members shard-0..2 with 3 replicas. The circle, sorted:
//
//	462394860 "0shard-2", 959181918 "1shard-0", 1311556808 "1shard-1",
//	1504350865 "2shard-2", 2189870166 "0shard-1", 3081040829 "2shard-0",
//	3231957803 "2shard-1", 3609564530 "1shard-2", 4118934720 "0shard-0"
func TestVectorsFromFalconFormula(t *testing.T) {
	t.Parallel()
	r, err := New(3, []string{"shard-0", "shard-1", "shard-2"})
	if err != nil {
		t.Fatal(err)
	}
	if Hash("1shard-0") != 959181918 {
		t.Fatalf("crc32(1shard-0) = %d", Hash("1shard-0"))
	}
	cases := []struct {
		key  string
		crc  uint32
		want string
	}{
		{"host1/cpu.idle", 3935838687, "shard-0"},
		{"h/qps/env=prod,module=api,service=shop", 3588199342, "shard-2"},
		{"host1/df.bytes.free/mount=/data", 640822696, "shard-0"},
		{"endpoint-42/net.if.in.bytes/iface=eth0", 433802590, "shard-2"},
		{"", 0, "shard-2"},
		// crc equal to a point: strictly greater, so the next point.
		{"1shard-0", 959181918, "shard-1"},
		// the last point itself: wraps to the first point (0shard-2).
		{"0shard-0", 4118934720, "shard-2"},
		// beyond the last point: wraps to the first.
		{"wrap-8", 4222891314, "shard-2"},
	}
	for _, c := range cases {
		if h := Hash(c.key); h != c.crc {
			t.Errorf("Hash(%q) = %d, want %d", c.key, h, c.crc)
		}
		if got := r.Get(c.key); got != c.want {
			t.Errorf("Get(%q) = %s, want %s", c.key, got, c.want)
		}
		if got := r.Members()[r.IndexBytes([]byte(c.key))]; got != c.want {
			t.Errorf("IndexBytes(%q) = %s, want %s", c.key, got, c.want)
		}
	}
}

// reference is toolkits/consistent as written there: a map circle,
// sorted hashes, sort.Search for the first hash > key.
type reference struct {
	circle map[uint32]string
	sorted []uint32
}

func newReference(replicas int, members []string) *reference {
	r := &reference{circle: map[uint32]string{}}
	for _, m := range members {
		for i := 0; i < replicas; i++ {
			r.circle[crc32.ChecksumIEEE([]byte(strconv.Itoa(i)+m))] = m
		}
	}
	for h := range r.circle {
		r.sorted = append(r.sorted, h)
	}
	sort.Slice(r.sorted, func(i, j int) bool { return r.sorted[i] < r.sorted[j] })
	return r
}

func (r *reference) get(key string) string {
	h := crc32.ChecksumIEEE([]byte(key))
	i := sort.Search(len(r.sorted), func(x int) bool { return r.sorted[x] > h })
	if i >= len(r.sorted) {
		i = 0
	}
	return r.circle[r.sorted[i]]
}

func TestSameAsReferenceImplementation(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 8, 13} {
		var members []string
		for i := range n {
			members = append(members, fmt.Sprintf("shard-%d", i))
		}
		r, err := New(DefaultReplicas, members)
		if err != nil {
			t.Fatal(err)
		}
		ref := newReference(DefaultReplicas, members)
		for k := range 20000 {
			key := fmt.Sprintf("host-%d/metric.%d/tag=%d", k%97, k, k%7)
			if k%5 == 0 {
				key += string(make([]byte, 70)) // beyond the 64-byte scratch
			}
			if got, want := r.Get(key), ref.get(key); got != want {
				t.Fatalf("%d members: Get(%q) = %s, reference %s", n, key, got, want)
			}
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	if _, err := New(0, []string{"a"}); err == nil {
		t.Error("0 replicas accepted")
	}
	if _, err := New(1, nil); err == nil {
		t.Error("no members accepted")
	}
	if _, err := New(1, []string{"a", "a"}); err == nil {
		t.Error("duplicate member accepted")
	}
}

// Every hash at and around each point of the ring, and the ends of the
// hash space, finds the same member as a binary search over the sorted
// points, for rings of one point to about 65,000.
func TestIndexOfHashAtEveryBoundary(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ replicas, members int }{{1, 1}, {3, 2}, {500, 8}, {500, 13}, {5000, 13}} {
		var members []string
		for i := range c.members {
			members = append(members, fmt.Sprintf("m%d", i))
		}
		r, err := New(c.replicas, members)
		if err != nil {
			t.Fatal(err)
		}
		ref := newReference(c.replicas, members)
		want := func(h uint32) string {
			i := sort.Search(len(ref.sorted), func(x int) bool { return ref.sorted[x] > h })
			if i >= len(ref.sorted) {
				i = 0
			}
			return ref.circle[ref.sorted[i]]
		}
		hashes := []uint32{0, 1, math.MaxUint32, math.MaxUint32 - 1, 1 << 31}
		for _, h := range ref.sorted {
			hashes = append(hashes, h-1, h, h+1)
		}
		for _, h := range hashes {
			if got := r.members[r.IndexOfHash(h)]; got != want(h) {
				t.Fatalf("%d×%d: IndexOfHash(%d) = %s, want %s", c.replicas, c.members, h, got, want(h))
			}
		}
	}
}
