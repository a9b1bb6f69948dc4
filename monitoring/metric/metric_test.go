package metric

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

const now = 1_700_000_000

func decodeOne(t *testing.T, body string) Item {
	t.Helper()
	items, err := Decode([]byte(body), nil)
	if err != nil {
		t.Fatalf("Decode(%s): %v", body, err)
	}
	if len(items) != 1 {
		t.Fatalf("Decode(%s): %d items", body, len(items))
	}
	return items[0]
}

// TestValidateFalconRules: every rule of Falcon's transfer (RecvMetricValues).
func TestValidateFalconRules(t *testing.T) {
	t.Parallel()
	long := make([]byte, 500)
	for i := range long {
		long[i] = 'm'
	}
	cases := []struct {
		name, body string
		err        error
		want       Point
	}{
		{"gauge number", `[{"endpoint":"h1","metric":"cpu.idle","timestamp":1700000010,"step":60,"value":12.5,"counterType":"GAUGE","tags":""}]`, nil,
			Point{Endpoint: "h1", Metric: "cpu.idle", CounterType: Gauge, Step: 60, Time: 1699999980, Value: 12.5}},
		{"numeric string", `[{"endpoint":"h1","metric":"m","timestamp":1700000000,"step":60,"value":"42","counterType":"COUNTER"}]`, nil,
			Point{Endpoint: "h1", Metric: "m", CounterType: Counter, Step: 60, Time: 1699999980, Value: 42}},
		{"string NaN is numeric to ParseFloat", `[{"endpoint":"h","metric":"m","timestamp":1700000000,"step":60,"value":"NaN","counterType":"GAUGE"}]`, nil,
			Point{Endpoint: "h", Metric: "m", CounterType: Gauge, Step: 60, Time: 1699999980, Value: math.NaN()}},
		{"tags sorted, spaces removed, last duplicate wins, pair without = dropped", `[{"endpoint":"h","metric":"m","timestamp":1700000000,"step":60,"value":1,"counterType":"DERIVE","tags":"z=1, a=2,junk,a=3,b=x=y"}]`, nil,
			Point{Endpoint: "h", Metric: "m", Tags: "a=3,b=x=y,z=1", CounterType: Derive, Step: 60, Time: 1699999980, Value: 1}},
		{"timestamp 0 becomes now", `[{"endpoint":"h","metric":"m","timestamp":0,"step":60,"value":1,"counterType":"GAUGE"}]`, nil,
			Point{Endpoint: "h", Metric: "m", CounterType: Gauge, Step: 60, Time: now - now%60, Value: 1}},
		{"negative timestamp becomes now", `[{"endpoint":"h","metric":"m","timestamp":-5,"step":60,"value":1,"counterType":"GAUGE"}]`, nil,
			Point{Endpoint: "h", Metric: "m", CounterType: Gauge, Step: 60, Time: now - now%60, Value: 1}},
		{"timestamp beyond 2*now becomes now", `[{"endpoint":"h","metric":"m","timestamp":3400000001,"step":60,"value":1,"counterType":"GAUGE"}]`, nil,
			Point{Endpoint: "h", Metric: "m", CounterType: Gauge, Step: 60, Time: now - now%60, Value: 1}},
		{"timestamp exactly 2*now is kept", `[{"endpoint":"h","metric":"m","timestamp":3400000000,"step":60,"value":1,"counterType":"GAUGE"}]`, nil,
			Point{Endpoint: "h", Metric: "m", CounterType: Gauge, Step: 60, Time: 3400000000 - 3400000000%60, Value: 1}},
		{"step below the minimum is raised", `[{"endpoint":"h","metric":"m","timestamp":1700000011,"step":10,"value":1,"counterType":"GAUGE"}]`, nil,
			Point{Endpoint: "h", Metric: "m", CounterType: Gauge, Step: 30, Time: 1700000010, Value: 1}},
		{"null element", `[null]`, ErrNull, Point{}},
		{"kernel.hostname", `[{"endpoint":"h","metric":"kernel.hostname","step":60,"value":"x","counterType":"GAUGE"}]`, ErrHostname, Point{}},
		{"empty endpoint", `[{"endpoint":"","metric":"m","step":60,"value":1,"counterType":"GAUGE"}]`, ErrNoEndpoint, Point{}},
		{"missing metric", `[{"endpoint":"h","step":60,"value":1,"counterType":"GAUGE"}]`, ErrNoEndpoint, Point{}},
		{"lower-case counterType", `[{"endpoint":"h","metric":"m","step":60,"value":1,"counterType":"gauge"}]`, ErrCounterType, Point{}},
		{"empty string value", `[{"endpoint":"h","metric":"m","step":60,"value":"","counterType":"GAUGE"}]`, ErrNoValue, Point{}},
		{"step 0", `[{"endpoint":"h","metric":"m","step":0,"value":1,"counterType":"GAUGE"}]`, ErrStep, Point{}},
		{"negative step", `[{"endpoint":"h","metric":"m","step":-60,"value":1,"counterType":"GAUGE"}]`, ErrStep, Point{}},
		{"metric+tags 511 bytes", `[{"endpoint":"h","metric":"` + string(long) + `","step":60,"value":1,"counterType":"GAUGE","tags":"abcdefghi=x"}]`, ErrTooLong, Point{}},
		{"non-numeric string", `[{"endpoint":"h","metric":"m","step":60,"value":"1.2.3","counterType":"GAUGE"}]`, ErrValueNumeric, Point{}},
		{"bool value", `[{"endpoint":"h","metric":"m","step":60,"value":true,"counterType":"GAUGE"}]`, ErrValueNumeric, Point{}},
		{"null value", `[{"endpoint":"h","metric":"m","step":60,"value":null,"counterType":"GAUGE"}]`, ErrValueNumeric, Point{}},
		{"missing value", `[{"endpoint":"h","metric":"m","step":60,"counterType":"GAUGE"}]`, ErrValueNumeric, Point{}},
		{"object value", `[{"endpoint":"h","metric":"m","step":60,"value":{"a":1},"counterType":"GAUGE"}]`, ErrValueNumeric, Point{}},
		{"number beyond float64", `[{"endpoint":"h","metric":"m","step":60,"value":1e400,"counterType":"GAUGE"}]`, ErrValueNumeric, Point{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := decodeOne(t, c.body)
			p, err := Rules{}.Validate(&it, now)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if c.err != nil {
				return
			}
			if math.IsNaN(c.want.Value) {
				if !math.IsNaN(p.Value) {
					t.Fatalf("value %v, want NaN", p.Value)
				}
				p.Value, c.want.Value = 0, 0
			}
			if p != c.want {
				t.Fatalf("got %+v\nwant %+v", p, c.want)
			}
		})
	}
}

func TestMetricPlusTagsExactly510IsValid(t *testing.T) {
	t.Parallel()
	m := make([]byte, 500)
	for i := range m {
		m[i] = 'm'
	}
	it := Item{Endpoint: "h", Metric: string(m), Tags: "abcdefgh=x", CounterType: Gauge, Step: 60, Kind: ValueNumber, NumOK: true}
	if _, err := (Rules{}).Validate(&it, now); err != nil {
		t.Fatal(err)
	}
}

func TestPKAsFalcon(t *testing.T) {
	t.Parallel()
	cases := []struct{ endpoint, metric, tags, want string }{
		{"host1", "cpu.idle", "", "host1/cpu.idle"},
		{"host1", "df.bytes.free", "mount=/data", "host1/df.bytes.free/mount=/data"},
		{"h", "qps", "service=shop,module=api,env=prod", "h/qps/env=prod,module=api,service=shop"},
		{"h", "qps", ",,", "h/qps"},
		{"h", "qps", "=v", "h/qps/=v"},
		{"h", "qps", "B=1,a=2", "h/qps/B=1,a=2"}, // byte order, upper case first
	}
	for _, c := range cases {
		if got := PK(c.endpoint, c.metric, CanonicalTags(c.tags)); got != c.want {
			t.Errorf("PK(%q,%q,%q) = %q, want %q", c.endpoint, c.metric, c.tags, got, c.want)
		}
		if got := string(AppendPK(nil, c.endpoint, c.metric, CanonicalTags(c.tags))); got != c.want {
			t.Errorf("AppendPK = %q, want %q", got, c.want)
		}
	}
}

func TestDecodeRejectsBodiesThatAreNotFalconArrays(t *testing.T) {
	t.Parallel()
	bad := []string{
		``, `{}`, `null`, `"x"`, `[`, `[1]`, `[{"endpoint":1}]`, `[{"step":"60"}]`, `[{"step":60.5}]`,
		`[{"timestamp":1e3}]`, `[{"tags":["a"]}]`, `[{}] x`, `[{},]`, `[{"a":}]`, `[{"endpoint":"a\x01"}]`,
		`[{"endpoint":"\q"}]`, `[{"step":99999999999999999999}]`, `[{"x":[[[[` + string(make([]byte, 0)) + `]]]]`,
	}
	for _, b := range bad {
		if items, err := Decode([]byte(b), nil); err == nil {
			t.Errorf("Decode(%q) = %v, want an error", b, items)
		} else {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("Decode(%q): %T is not a *DecodeError", b, err)
			}
		}
	}
}

func TestDecodeLikeEncodingJSON(t *testing.T) {
	t.Parallel()
	body := `[ {"Endpoint":"h\u00e9","METRIC":"m\n","unknown":{"deep":[1,2,{"x":null}]},"step":60,"step":30,"value":"7","tags":null,"counterType":"GAUGE"}, null, {} ]`
	items, err := Decode([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || !items[1].Null || items[2].Null {
		t.Fatalf("items %+v", items)
	}
	it := items[0]
	if it.Endpoint != "hé" || it.Metric != "m\n" || it.Step != 30 || it.Kind != ValueString || it.Str != "7" || it.Tags != "" {
		t.Fatalf("item %+v", it)
	}
	if items, err := Decode([]byte(" [ ] "), nil); err != nil || len(items) != 0 {
		t.Fatalf("empty array: %v %v", items, err)
	}
}

func TestBatchRoundTrip(t *testing.T) {
	t.Parallel()
	in := []Point{
		{Endpoint: "h\"1", Metric: "m\\é", Tags: "a=1,b=2", CounterType: Gauge, Step: 60, Time: 1699999980, Value: 1.25},
		{Endpoint: "h", Metric: "m", CounterType: Counter, Step: 30, Time: 30, Value: math.Inf(-1)},
		{Endpoint: "h", Metric: "m\x01", CounterType: Derive, Step: 30, Time: 60, Value: math.NaN()},
	}
	for _, f := range []BatchFormat{BatchBinary, BatchJSON} {
		out, err := DecodeBatch(f.Append(nil, in))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(out) != 3 || out[0] != in[0] || out[1] != in[1] || !math.IsNaN(out[2].Value) || out[2].Metric != "m\x01" {
			t.Fatalf("%s round trip: %+v", f, out)
		}
	}
	if _, err := DecodeBatch([]byte(`{"v":2,"points":[]}`)); err == nil {
		t.Fatal("JSON version 2 accepted")
	}
}

// TestDecodeBoundsItems: a 4 MiB body of tiny items ([{},{},...]) would
// make over a million Items (~150 MB); a push of more than MaxItems items
// is refused instead.
func TestDecodeBoundsItems(t *testing.T) {
	t.Parallel()
	body := []byte("[" + strings.Repeat("{},", MaxItems) + "{}]")
	items, err := Decode(body, nil)
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(de.Msg, "more than 100000 items") {
		t.Fatalf("Decode of %d items: %d items, err %v; want a DecodeError about the item limit", MaxItems+1, len(items), err)
	}
	body = []byte("[" + strings.Repeat("{},", MaxItems-1) + "{}]")
	if items, err := Decode(body, nil); err != nil || len(items) != MaxItems {
		t.Fatalf("Decode of %d items: %d, %v", MaxItems, len(items), err)
	}
}

// TestDecodeInternsRepeatedStrings: an agent's push repeats its endpoint
// and cycles through a few metrics and tag sets; those strings are
// allocated once per push, not once per item (100 items made 102
// allocations before), and every item still gets its own values.
func TestDecodeInternsRepeatedStrings(t *testing.T) {
	body := pushBody(100) // one endpoint, tags cycling through 4 values
	items := make([]Item, 0, 100)
	allocs := testing.AllocsPerRun(20, func() {
		var err error
		if items, err = Decode(body, items[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 8 {
		t.Errorf("Decode of 100 items made %.0f allocations", allocs)
	}
	for i, it := range items {
		if want := fmt.Sprintf("iface=eth%d,env=prod", i%4); it.Tags != want || it.Endpoint != "host-1.example" || it.Metric != "net.if.in.bytes" {
			t.Fatalf("item %d: %+v, want tags %q", i, it, want)
		}
	}
	// More distinct strings than are remembered: still each its own.
	var b strings.Builder
	b.WriteByte('[')
	for i := range 50 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"endpoint":"h%d","metric":"m%d","tags":"k=%d","counterType":"GAUGE","step":60,"timestamp":1,"value":1}`, i%13, i%11, i%17)
	}
	b.WriteByte(']')
	got, err := Decode([]byte(b.String()), nil)
	if err != nil || len(got) != 50 {
		t.Fatalf("%d items, %v", len(got), err)
	}
	for i, it := range got {
		if it.Endpoint != fmt.Sprintf("h%d", i%13) || it.Metric != fmt.Sprintf("m%d", i%11) || it.Tags != fmt.Sprintf("k=%d", i%17) {
			t.Fatalf("item %d: %+v", i, it)
		}
	}
}

// Numbers in a push decode to the same float64 (bit for bit) and int64 as
// strconv gives, whether they take the short path (at most 15 digits, no
// exponent) or not: signs, zeros, fractions of every length, 15 to 17
// digits, exponents, leading zeros in fractions.
func TestDecodeNumbersAsStrconv(t *testing.T) {
	t.Parallel()
	lits := []string{"0", "-0", "-0.0", "0.0", "0.5", "-0.5", "1", "-1", "42", "3.14", "100.000",
		"123456789012345", "-123456789012345", "1234567890123456", "12345678901234567", "9007199254740993",
		"0.1", "0.2", "0.3", "1.0000000000001", "0.000000000000001", "0.0000000000000000000001", "99999999999999.9",
		"1e3", "1E-3", "-2.5e+10", "1.5e300", "123456789.123456"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := 1 + rng.IntN(17)
		digits := make([]byte, n)
		for i := range digits {
			digits[i] = byte('0' + rng.IntN(10))
		}
		if n > 1 && digits[0] == '0' {
			digits[0] = '1'
		}
		lit := string(digits)
		if k := rng.IntN(n + 1); k > 0 && k < n {
			lit = lit[:k] + "." + lit[k:]
		}
		if rng.IntN(2) == 0 {
			lit = "-" + lit
		}
		lits = append(lits, lit)
	}
	for _, lit := range lits {
		items, err := Decode([]byte(`[{"value":`+lit+`}]`), nil)
		if err != nil {
			t.Fatalf("%s: %v", lit, err)
		}
		want, _ := strconv.ParseFloat(lit, 64)
		if got := items[0].Num; math.Float64bits(got) != math.Float64bits(want) || !items[0].NumOK {
			t.Fatalf("value %s: %v (%x), strconv %v (%x)", lit, got, math.Float64bits(got), want, math.Float64bits(want))
		}
		items, err = Decode([]byte(`[{"step":`+lit+`}]`), nil)
		wantInt, perr := strconv.ParseInt(lit, 10, 64)
		switch {
		case perr != nil && err == nil:
			t.Fatalf("step %s: decoded as %d, strconv: %v", lit, items[0].Step, perr)
		case perr == nil && (err != nil || items[0].Step != wantInt):
			t.Fatalf("step %s: %v (%v), strconv %d", lit, items, err, wantInt)
		}
	}
}
