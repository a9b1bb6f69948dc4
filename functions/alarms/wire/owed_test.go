package wire

import (
	"testing"
	"time"
)

func TestOwedRoundTripAndBackOff(t *testing.T) {
	t.Parallel()
	t0 := time.UnixMilli(1_800_000_000_000)
	b, err := EncodeOwed([]byte(`{"id":"s_1"}`), t0, 2)
	if err != nil {
		t.Fatal(err)
	}
	o, err := DecodeOwed(b)
	if err != nil || string(o.Event) != `{"id":"s_1"}` || o.Republished != 2 || o.At != t0.UnixMilli() {
		t.Fatalf("%+v %v", o, err)
	}
	// Twice republished: due after 4 x owed_after.
	if o.Due(t0.Add(4*time.Second-time.Millisecond), time.Second) || !o.Due(t0.Add(4*time.Second), time.Second) {
		t.Fatal("back-off")
	}
	o.Republished = 100 // capped at 64 x
	if !o.Due(t0.Add(64*time.Second), time.Second) {
		t.Fatal("cap")
	}
	for _, bad := range []string{``, `{}`, `{"at":1}`, `{"event":{}}`, `[`} {
		if _, err := DecodeOwed([]byte(bad)); err == nil {
			t.Fatalf("%q decoded", bad)
		}
	}
	if _, err := EncodeOwed([]byte(`not json`), t0, 0); err == nil {
		t.Fatal("encoded a body that is not JSON")
	}
}
