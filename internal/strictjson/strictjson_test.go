package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDuplicateKeysAreNamedByPath(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, path string }{
		{`{"a":1,"a":2}`, "a"},
		{`{"a":{"b":1,"c":{"d":[1,2]},"b":2}}`, "a.b"},
		{`{"routes":[{"path":"/"},{"path":"/x","path":"/api/"}]}`, "routes[1].path"},
		{`[[],[{"x":1}],[{"y":1,"y":1}]]`, "[2][0].y"},
		{`{"a":[{"k":1}],"b":{"k":1},"a":0}`, "a"},
		{`{"w\u0000":1,"w\u0000":2}`, `"w\x00"`},
	}
	for _, c := range cases {
		err := CheckDuplicates([]byte(c.in))
		var de *DuplicateKeyError
		if !errors.As(err, &de) || err.Error() != c.path+": duplicate key" {
			t.Errorf("%s: got %v, want %s", c.in, err, c.path)
		}
	}
	for _, ok := range []string{`{"a":1,"b":{"a":1},"c":[{"a":1},{"a":1}]}`, `[]`, `"x"`, `{`, ``, `{"a":"a","b":"a"}`} {
		if err := CheckDuplicates([]byte(ok)); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	var v struct {
		A int `json:"a"`
	}
	if err := Decode([]byte(` {"a":1} `), &v); err != nil || v.A != 1 {
		t.Fatal(err, v)
	}
	if err := Decode([]byte(`{"a":1}}`), &v); !errors.Is(err, ErrTrailingData) {
		t.Fatalf("stray bracket: %v", err)
	}
	if err := Decode([]byte(`{"a":1,"b":2}`), &v); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Fatalf("unknown field: %v", err)
	}
	if err := DecodeLenient([]byte(`{"a":1,"b":2}`), &v); err != nil {
		t.Fatalf("lenient: %v", err)
	}
	var de *DuplicateKeyError
	if err := DecodeLenient([]byte(`{"a":1,"b":2,"b":3}`), &v); !errors.As(err, &de) || de.Path != "b" {
		t.Fatalf("lenient duplicate: %v", err)
	}
	deep := strings.Repeat(`{"a":[`, 100000) + strings.Repeat("]}", 100000)
	if err := CheckDuplicates([]byte(deep)); err != nil {
		t.Fatalf("deep: %v", err)
	}
}

// FuzzCheckDuplicates: never panics; on valid JSON without a reported
// duplicate, re-encoding through a map loses no key, i.e. each object's
// keys are unique.
func FuzzCheckDuplicates(f *testing.F) {
	for _, s := range []string{`{"a":[{"b":{"x":1}},{"B":{},"b":{}}],"AB":"x","ab":"y"}`, `{"a":1,"a":2}`, `{"a":[{"b":1},{"b":1,"b":2}]}`, `[1,"a",{"x":{}}]`, `{"a":"b","b":"a"}`, `{"a":1}}`, `"\u0000"`, `{"":1,"":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var typed struct {
			A  []struct{ B map[string]any } `json:"a"`
			Ab string
		}
		_ = Decode(b, &typed) // must not panic
		err := CheckDuplicates(b)
		var de *DuplicateKeyError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("only duplicate key errors: %v", err)
		}
		if !json.Valid(b) {
			return
		}
		if countKeys(t, b) != uniqueKeys(t, b) && err == nil {
			t.Fatalf("missed a duplicate in %q", b)
		}
		if err != nil && countKeys(t, b) == uniqueKeys(t, b) {
			t.Fatalf("false duplicate %v in %q", err, b)
		}
	})
}

// countKeys counts every key token in b; uniqueKeys the keys that survive
// decoding into maps (duplicates collapse).
func countKeys(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	dec := json.NewDecoder(strings.NewReader(string(b)))
	type fr struct{ obj, wantKey bool }
	var st []*fr
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		var top *fr
		if len(st) > 0 {
			top = st[len(st)-1]
		}
		switch x := tok.(type) {
		case json.Delim:
			if x == '{' || x == '[' {
				st = append(st, &fr{obj: x == '{', wantKey: true})
			} else {
				st = st[:len(st)-1]
				if len(st) > 0 {
					st[len(st)-1].wantKey = true
				}
			}
			continue
		case string:
			if top != nil && top.obj && top.wantKey {
				n++
				top.wantKey = false
				continue
			}
		}
		if top != nil {
			top.wantKey = true
		}
	}
}

func uniqueKeys(t *testing.T, b []byte) int {
	t.Helper()
	var v any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) int
	walk = func(v any) int {
		n := 0
		switch x := v.(type) {
		case map[string]any:
			n += len(x)
			for _, e := range x {
				n += walk(e)
			}
		case []any:
			for _, e := range x {
				n += walk(e)
			}
		}
		return n
	}
	return walk(v)
}

// encoding/json matches keys to struct fields case-insensitively, so
// "path" and "PATH" in one object are the same field given twice; in a map
// they are different keys.
func TestCaseVariantsOfAFieldAreDuplicates(t *testing.T) {
	t.Parallel()
	type inner struct {
		Addr string `json:"addr"`
	}
	type embedded struct {
		Why string `json:"why"`
	}
	type body struct {
		embedded
		Path      string            `json:"path"`
		Name      string            // no tag: the Go name
		Skip      string            `json:"-"`
		Labels    map[string]string `json:"labels"`
		Instances []inner           `json:"instances"`
		Ptr       *inner            `json:"ptr"`
		Any       any               `json:"any"`
	}
	var de *DuplicateKeyError
	for in, path := range map[string]string{
		`{"path":"/x","PATH":"/api/"}`:                         "PATH",
		`{"Name":"a","name":"b"}`:                              "name",
		`{"why":"a","WHY":"b"}`:                                "WHY",
		`{"instances":[{"addr":"a"},{"addr":"b","Addr":"c"}]}`: "instances[1].Addr",
		`{"ptr":{"ADDR":"a","addr":"b"}}`:                      "ptr.addr",
	} {
		var v body
		if err := Decode([]byte(in), &v); !errors.As(err, &de) || de.Path != path {
			t.Errorf("%s: got %v, want %s", in, err, path)
		}
	}
	for _, in := range []string{
		`{"labels":{"a":"1","A":"2"}}`,
		`{"any":{"k":1,"K":2}}`,
		`{"path":"/x","name":"n","why":"w"}`,
	} {
		var v body
		if err := Decode([]byte(in), &v); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	var m map[string]any
	if err := Decode([]byte(`{"a":1,"A":2}`), &m); err != nil {
		t.Errorf("map: %v", err)
	}
}
