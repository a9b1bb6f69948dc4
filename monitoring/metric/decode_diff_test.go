package metric

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// sameDecode fails t unless Decode and refDecode (the decoder before its
// speed work) give the same items and the same error for body.
func sameDecode(t *testing.T, body []byte) {
	t.Helper()
	got, gerr := Decode(body, nil)
	want, werr := refDecode(body, nil)
	var g, w *DecodeError
	switch {
	case (gerr == nil) != (werr == nil):
		t.Fatalf("body %q: error %v, before %v", body, gerr, werr)
	case gerr != nil && (!errors.As(gerr, &g) || !errors.As(werr, &w) || *g != *w):
		t.Fatalf("body %q: error %#v, before %#v", body, gerr, werr)
	case len(got) != len(want):
		t.Fatalf("body %q: %d items, before %d", body, len(got), len(want))
	}
	for i := range got {
		a, b := got[i], want[i]
		if math.Float64bits(a.Num) != math.Float64bits(b.Num) {
			t.Fatalf("body %q: item %d value %v (bits %x), before %v", body, i, a.Num, math.Float64bits(a.Num), b.Num)
		}
		a.Num, b.Num = 0, 0
		if a != b {
			t.Fatalf("body %q: item %d\n%+v\nbefore\n%+v", body, i, a, b)
		}
	}
}

// diffSeeds are bodies around the decoder's fast paths: the agents' key
// order, strings of every length around a word with escapes, control
// characters and non-ASCII bytes at every position, odd key spellings.
var diffSeeds = []string{
	string(pushBody(3)),
	`[{"endpoint":"h","metric":"m","timestamp":1700000000,"step":60,"value":1,"counterType":"GAUGE","tags":"b=1,a=2"}]`,
	` [ { "endpoint" : "h" , "metric" :"m", "timestamp": 1 ,"step" :60 ,"value":"1.5","counterType":"DERIVE","tags":"" } , null ] `,
	`[null,{"value":"NaN"},{"Value":"1e3","STEP":1}]`,
	`[{"endpoint":"\ud83d\ude00","x":[{"y":"\u0000"}]}]`,
	`[{"ENDPOINT":"a","Metric":"b","timeStamp":2,"sTep":3,"VALUE":-0,"countertype":"COUNTER","TAGS":"x"}]`,
	`[{"endpoint":"a","endpoint":"b","metric":"c","metric":null,"value":1,"value":null}]`,
	`[{"endpoinT":"a","endpoint\u0041":"b","endpoin":"c","endpoints":"d","ſtep":5,"K":"x"}]`,
	`[{"tags":"abcdefgh\"ijklmnop","metric":"abcdefg\\h","endpoint":"abcdefghijklmnopqrstuvwxyz0123456789\u00e9"}]`,
	"[{\"endpoint\":\"abcdefghij\x01klm\"}]",
	"[{\"endpoint\":\"abcdefgh\xffijklmnopq\"}]",
	"[{\"endpoint\":\"h\xc3\xa9llo w\xc3\xb6rld, this is long\",\"metric\":\"\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\"}]",
	`[{"value":1.5e3},{"value":123456789012345678},{"value":0.1234567890123456},{"value":-0.0},{"value":1e999},{"value":true},{"value":{"a":[1,2]}}]`,
	`[{"timestamp":1.0},{"timestamp":-5},{"timestamp":99999999999999999999},{"step":1e2}]`,
	`[{"endpoint":1}]`, `[{"metric":"a"`, `[{"metric":"a",}]`, `[{"metric" "a"}]`, `[{}`, `[{},]`, `[1]`, `{}`, ``, `[]x`,
	`[{"endpoint":"abcdefghijklmnop`, `[{"endpoint":"abcdefgh\`, `[{"endpoint":"\u12"}]`, `[{"endpoint":"\q"}]`,
}

// TestDecodeSameAsBefore mutates and truncates the seeds at every byte and
// compares Decode with the decoder before its speed work.
func TestDecodeSameAsBefore(t *testing.T) {
	t.Parallel()
	subst := []byte{'"', '\\', ',', ':', '}', ']', '{', '[', ' ', '\n', 0, 0x1f, 0x7f, 0x80, 0xc3, 0xff, 'n', 't', 'e', 'E', '.', '-', '0', '9', 'u', 'x', 'K', 'k'}
	for _, s := range append(diffSeeds, string(falconBody(3))) {
		body := []byte(s)
		for i := 0; i <= len(body); i++ {
			sameDecode(t, body[:i])
			if i == len(body) {
				continue
			}
			m := bytes.Clone(body)
			for _, c := range subst {
				m[i] = c
				sameDecode(t, m)
			}
			sameDecode(t, append(bytes.Clone(body[:i]), body[i+1:]...))
		}
	}
}

// FuzzDecodeSameAsBefore: on any body, Decode gives the items and the
// error (offset, index, field, message) of the decoder before its speed work.
func FuzzDecodeSameAsBefore(f *testing.F) {
	for _, s := range diffSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameDecode(t, body)
	})
}

// TestScanShortSameAsBefore: the word-at-a-time number scan gives the
// byte loop's digits, fraction length, end and verdict on numbers of every
// length, with and without sign and fraction, ending the body or not.
func TestScanShortSameAsBefore(t *testing.T) {
	t.Parallel()
	const digits = "9081726354"
	var nums []string
	for n := 0; n <= 20; n++ {
		for f := -1; f <= 17; f++ {
			num := digits[:min(n, 10)] + digits[:max(n-10, 0)]
			if f >= 0 {
				num += "." + (digits + digits)[:f]
			}
			nums = append(nums, num, "-"+num, "0"+num, "-0"+num)
		}
	}
	for _, num := range nums {
		for _, tail := range []string{"", ",", "}", "e5", "E-1", "x", "]", " ", "\x80", "/", ":"} {
			for _, pad := range []string{"", `"k":`, `1234567,`} {
				body := []byte(pad + num + tail)
				d := decoder{b: body, i: len(pad)}
				r := refDecoder{b: body, i: len(pad)}
				m, frac, end, ok := d.scanShort()
				rm, rfrac, rend, rok := r.scanShort()
				if ok != rok || (ok && (m != rm || frac != rfrac || end != rend)) {
					t.Fatalf("scanShort(%q) = %d, %d, %d, %v; before %d, %d, %d, %v", body, m, frac, end, ok, rm, rfrac, rend, rok)
				}
			}
		}
	}
}

// TestDecodeInternsFalconPush: a push as Falcon's agent marshals it (its
// own key order, 25 metrics, 6 tag sets that differ in the middle) makes
// about one allocation per distinct string, not per item (1,494 for these
// 1,000 items before the decoder's own interner), and every item keeps
// its own strings.
func TestDecodeInternsFalconPush(t *testing.T) {
	body := falconBody(1000)
	items := make([]Item, 0, 1000)
	allocs := testing.AllocsPerRun(10, func() {
		var err error
		if items, err = Decode(body, items[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 60 {
		t.Errorf("Decode of 1,000 items in Falcon's order made %.0f allocations", allocs)
	}
	want, err := refDecode(body, nil)
	if err != nil || len(want) != len(items) {
		t.Fatalf("before: %d items, %v", len(want), err)
	}
	for i := range items {
		if items[i] != want[i] {
			t.Fatalf("item %d: %+v, before %+v", i, items[i], want[i])
		}
	}
}
