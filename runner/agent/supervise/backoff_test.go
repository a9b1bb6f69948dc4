package supervise

import (
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	b, err := BackoffOptions{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	for i, w := range want {
		if got := b.delay(i + 1); got != w {
			t.Errorf("delay(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := b.delay(1000); got != DefaultBackoffMax {
		t.Errorf("delay(1000) = %s, want cap %s", got, DefaultBackoffMax)
	}
	prev := time.Duration(0)
	for n := 1; n < 100; n++ {
		d := b.delay(n)
		if d < prev || d > b.Max {
			t.Fatalf("delay(%d) = %s after %s", n, d, prev)
		}
		prev = d
	}
	flat := BackoffOptions{Min: time.Second, Max: time.Second, Factor: 1, ResetAfter: time.Second}
	if got := flat.delay(7); got != time.Second {
		t.Errorf("flat delay %s", got)
	}
}

func TestBackoffValidation(t *testing.T) {
	t.Parallel()
	for _, b := range []BackoffOptions{
		{Min: -1},
		{Min: time.Second, Max: time.Millisecond},
		{Factor: 0.5},
		{ResetAfter: -time.Second},
	} {
		if _, err := b.withDefaults(); err == nil {
			t.Errorf("%+v accepted", b)
		}
	}
	b, err := BackoffOptions{Min: time.Minute}.withDefaults()
	if err != nil || b.Max != time.Minute {
		t.Errorf("Min above default Max: %+v, %v", b, err)
	}
}
