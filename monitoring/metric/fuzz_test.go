package metric

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"
)

// falconItem is Falcon's MetricValue as encoding/json fills it.
type falconItem struct {
	Endpoint  string `json:"endpoint"`
	Metric    string `json:"metric"`
	Value     any    `json:"value"`
	Step      int64  `json:"step"`
	Type      string `json:"counterType"`
	Tags      string `json:"tags"`
	Timestamp int64  `json:"timestamp"`
}

// FuzzDecode: the decoder never panics, and whenever encoding/json (what
// Falcon's transfer uses) decodes a body into Falcon's items, Decode
// accepts it too and every item is valid or invalid alike, with the same point.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`[{"endpoint":"h","metric":"m","timestamp":1700000000,"step":60,"value":1,"counterType":"GAUGE","tags":"b=1,a=2"}]`))
	f.Add([]byte(`[null,{"value":"NaN"},{"Value":"1e3","STEP":1}]`))
	f.Add([]byte(`[{"endpoint":"\ud83d\ude00","x":[{"y":"\u0000"}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := Decode(body, nil)
		var ref []*falconItem
		if json.Unmarshal(body, &ref) != nil || ref == nil || len(ref) > MaxItems {
			return // null (not an array) and huge pushes are refused on purpose
		}
		if err != nil {
			t.Fatalf("encoding/json accepts %q, Decode: %v", body, err)
		}
		if len(items) != len(ref) {
			t.Fatalf("%d items, encoding/json %d", len(items), len(ref))
		}
		for i, r := range ref {
			got, gerr := Rules{}.Validate(&items[i], now)
			want, werr := falconValidate(r)
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("item %d of %q: Decode+Validate %v, Falcon %v", i, body, gerr, werr)
			}
			if gerr != nil {
				continue
			}
			if math.IsNaN(got.Value) && math.IsNaN(want.Value) {
				got.Value, want.Value = 0, 0
			}
			if got != want {
				t.Fatalf("item %d of %q: %+v, Falcon %+v", i, body, got, want)
			}
		}
	})
}

// falconValidate is the reference: Falcon's rules over encoding/json's item.
func falconValidate(r *falconItem) (Point, error) {
	if r == nil {
		return Point{}, ErrNull
	}
	it := Item{Endpoint: r.Endpoint, Metric: r.Metric, CounterType: r.Type, Tags: r.Tags, Timestamp: r.Timestamp, Step: r.Step}
	switch v := r.Value.(type) {
	case string:
		it.Kind, it.Str = ValueString, v
	case float64:
		it.Kind, it.Num, it.NumOK = ValueNumber, v, true
	case nil:
	default:
		it.Kind = ValueOther
	}
	return Rules{}.Validate(&it, now)
}

func FuzzCanonicalTags(f *testing.F) {
	f.Add("b=1,a=2")
	f.Add(" a = 1 ,,b")
	f.Fuzz(func(t *testing.T, s string) {
		c := CanonicalTags(s)
		if want := falconTags(s); c != want {
			t.Fatalf("CanonicalTags(%q) = %q, Falcon %q", s, c, want)
		}
		if CanonicalTags(c) != c {
			t.Fatalf("CanonicalTags(%q) = %q is not stable", s, c)
		}
		m := ParseTags(c)
		if len(m) == 0 && c != "" {
			t.Fatalf("ParseTags(%q) empty", c)
		}
	})
}

// falconTags is Falcon's DictedTagstring followed by SortedTags, as written there.
func falconTags(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, " ", "")
	dict := map[string]string{}
	for _, tag := range strings.Split(s, ",") {
		if idx := strings.IndexRune(tag, '='); idx != -1 {
			dict[tag[:idx]] = tag[idx+1:]
		}
	}
	keys := make([]string, 0, len(dict))
	for k := range dict {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + dict[k])
	}
	return b.String()
}
