package bus

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestDeadLetterRoundTrip(t *testing.T) {
	in := DeadLetter{
		V: deadLetterVersion, Topic: "t", Channel: "c", ID: "0123456789abcdef", Attempts: 5,
		Error: strings.Repeat("x", 5000), Timestamp: time.Unix(1, 2).UTC(), DeadAt: time.Unix(3, 4).UTC(),
		NSQD: "127.0.0.1:1", Body: []byte{0, 1, 2, 0xff},
	}
	b, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeDeadLetter(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Body, in.Body) || out.Topic != "t" || out.Attempts != 5 || !out.Timestamp.Equal(in.Timestamp) {
		t.Fatalf("round trip: %+v", out)
	}
	if len(out.Error) > maxDeadLetterError+20 {
		t.Fatalf("error not truncated: %d", len(out.Error))
	}
	if _, err := DecodeDeadLetter([]byte(`{"v":2,"topic":"t"}`)); err == nil {
		t.Fatal("accepted unknown version")
	}
}

func FuzzDecodeDeadLetter(f *testing.F) {
	f.Add([]byte(`{"v":1,"topic":"t","body":"AAE="}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`nope`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDeadLetter(b)
		if err != nil {
			return
		}
		if _, err := d.Encode(); err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
	})
}
