package balance

import "testing"

func TestMask(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 5, 63, 64, 65, 130} {
		m := make(Mask, MaskWords(n)).Fill(n)
		if got := m.count(n); got != n {
			t.Fatalf("n=%d: full count %d", n, got)
		}
		m.Clear(0)
		m.Clear(n - 1)
		want := n - 2
		if n == 1 {
			want = 0
		}
		if got := m.count(n); got != want {
			t.Fatalf("n=%d: count after two clears %d, want %d", n, got, want)
		}
		for k := 0; k < want; k++ {
			if got := m.nth(k); got != k+1 {
				t.Fatalf("n=%d: nth(%d) = %d, want %d", n, k, got, k+1)
			}
		}
		if m.Has(0) || m.Has(n-1) || m.Has(n+64) || m.Has(-1) {
			t.Fatalf("n=%d: Has reports cleared or outside instances", n)
		}
		m.Set(0)
		if !m.Has(0) {
			t.Fatalf("n=%d: Set(0) not seen", n)
		}
	}
	var all Mask
	if !all.Has(1000) {
		t.Fatal("nil mask must hold every instance")
	}
	a := make(Mask, 1).Fill(10)
	b := make(Mask, 1)
	b.Set(3)
	b.Set(12)
	if a.And(b).count(10) != 1 || !a.Has(3) {
		t.Fatalf("And: got %b", a[0])
	}
	if got := make(Mask, 2).Fill(70).And(Mask{^uint64(0)}).count(70); got != 64 {
		t.Fatalf("And with a shorter mask: count %d, want 64", got)
	}
	// Bits above n never count.
	if got := (Mask{^uint64(0)}).count(3); got != 3 {
		t.Fatalf("count ignores bits above n: got %d", got)
	}
}

func TestSelect64(t *testing.T) {
	t.Parallel()
	for _, w := range []uint64{1, 1 << 63, ^uint64(0), 0xa5a5_0000_ffff_0101, 0x8000_0000_0000_0001} {
		k := 0
		for pos := range 64 {
			if w&(1<<uint(pos)) == 0 {
				continue
			}
			if got := select64(w, k); got != pos {
				t.Fatalf("select64(%#x, %d) = %d, want %d", w, k, got, pos)
			}
			k++
		}
	}
}
