package judge

import (
	"strconv"
	"testing"
	"unsafe"
)

// The series table finds every series it was given by its PK, through
// growth, hash collisions (the PK decides, never the hash alone) and
// reset, and nothing it was not given.
func TestSeriesTableFindsByPK(t *testing.T) {
	x := newSeriesTable()
	const n = 5000
	infos := make([]*seriesInfo, n)
	for i := range infos {
		infos[i] = &seriesInfo{pk: "host-" + strconv.Itoa(i) + "/cpu.busy"}
		h := x.hash([]byte(infos[i].pk))
		if i%3 == 0 {
			h = 42 // every third PK collides with the others of its kind
		}
		if x.get(h, []byte(infos[i].pk)) != nil {
			t.Fatalf("%s found before it was added", infos[i].pk)
		}
		x.add(h, infos[i])
	}
	if x.len() != n || len(x.slots) < 2*n {
		t.Fatalf("%d series in %d slots, want %d in at least %d", x.len(), len(x.slots), n, 2*n)
	}
	for i, s := range infos {
		h := x.hash([]byte(s.pk))
		if i%3 == 0 {
			h = 42
		}
		if got := x.get(h, []byte(s.pk)); got != s {
			t.Fatalf("%s: got %v", s.pk, got)
		}
		if got := x.get(h, []byte(s.pk+"/x")); got != nil {
			t.Fatalf("%s/x (same hash, another PK): got %s", s.pk, got.pk)
		}
	}
	x.reset()
	if x.len() != 0 || x.get(x.hash([]byte(infos[1].pk)), []byte(infos[1].pk)) != nil || x.get(42, []byte(infos[0].pk)) != nil {
		t.Fatal("a series found after reset")
	}
}

// A series' info is three cache lines, the fields a batch reads of every
// point in the first (see seriesInfo).
func TestSeriesInfoLayout(t *testing.T) {
	var s seriesInfo
	if size := unsafe.Sizeof(s); size != 192 {
		t.Fatalf("seriesInfo is %d bytes, want 192", size)
	}
	for name, off := range map[string]uintptr{"pk": unsafe.Offsetof(s.pk), "batch": unsafe.Offsetof(s.batch), "count": unsafe.Offsetof(s.count), "tags": unsafe.Offsetof(s.tags), "endpoint": unsafe.Offsetof(s.endpoint)} {
		if off >= 64 {
			t.Errorf("seriesInfo.%s at byte %d, want it in the first 64", name, off)
		}
	}
}
