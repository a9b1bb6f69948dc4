package model_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/functions/config/model"
)

func TestParseProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want map[string]string
		err  string
	}{
		{in: "a=1\nb : 2\nc 3\n# x=y\n! z\n", want: map[string]string{"a": "1", "b": "2", "c": "3"}},
		{in: "long=one \\\n   two\n", want: map[string]string{"long": "one two"}},
		{in: "k\\=x=v\\n\\u0041", want: map[string]string{"k=x": "v\nA"}},
		{in: "dup=1\ndup=2", want: map[string]string{"dup": "2"}},
		{in: "empty=", want: map[string]string{"empty": ""}},
		{in: "a=1\nb=\\u00zz\n", err: "line 2: value of \"b\": malformed \\u escape"},
		{in: "a=1\n\n" + strings.Repeat("k", 129) + "=v", err: "line 3: key is 129 bytes, at most 128"},
	}
	for _, tt := range tests {
		got, err := model.ParseProperties(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseProperties(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ParseProperties(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	t.Parallel()
	conf := map[string]string{"a b": " lead", "x=y": "v:w", "#c": "!", "multi": "1\n2\t3\\", "u": "ünï"}
	got, err := model.ParseProperties(model.FormatProperties(conf))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(conf) {
		t.Fatalf("round trip = %v, %v; want %v", got, err, conf)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		f     model.Format
		conf  map[string]string
		field string
		msg   string
	}{
		{f: model.JSON, conf: map[string]string{"content": "{\n\"a\": 1,\n}"}, field: "content", msg: "line 3"},
		{f: model.JSON, conf: map[string]string{"content": "{} {}"}, field: "content", msg: "data after the JSON value"},
		{f: model.YAML, conf: map[string]string{"content": "a: 1\nb: [\n"}, field: "content", msg: "line "},
		{f: model.XML, conf: map[string]string{"content": "<a>\n<b></a>"}, field: "content", msg: "line 2"},
		{f: model.XML, conf: map[string]string{"content": "<a/><b/>"}, field: "content", msg: "second root"},
		{f: model.JSON, conf: map[string]string{"other": "1", "content": "{}"}, field: "items.other", msg: "only the key"},
		{f: model.Properties, conf: map[string]string{strings.Repeat("k", 129): "v"}, field: "items." + strings.Repeat("k", 129), msg: "at most 128"},
		{f: model.Properties, conf: map[string]string{"big": strings.Repeat("v", model.MaxNamespaceBytes)}, field: "items", msg: "1 MiB"},
		{f: model.Properties, conf: map[string]string{"a\x01": "v"}, field: `items."a\x01"`, msg: "control character"},
	}
	for _, tt := range tests {
		l := model.Validate(tt.f, tt.conf)
		if len(l) == 0 || l[0].Field != tt.field || !strings.Contains(l[0].Msg, tt.msg) {
			t.Errorf("Validate(%s, %.40q) = %v; want field %s with %q", tt.f, fmt.Sprint(tt.conf), l, tt.field, tt.msg)
		}
	}
	for f, text := range map[model.Format]string{model.JSON: `{"a":[1,2]}`, model.YAML: "a: 1\n---\nb: 2\n", model.XML: `<?xml version="1.0"?><a x="1"><b/></a>`, model.TXT: "{{not json"} {
		if l := model.Validate(f, map[string]string{"content": text}); len(l) != 0 {
			t.Errorf("Validate(%s, %q) = %v; want valid", f, text, l)
		}
	}
}

func TestFormatOfAndNames(t *testing.T) {
	t.Parallel()
	for ns, f := range map[string]model.Format{"application": model.Properties, "a.json": model.JSON, "b.yml": model.YAML, "c.YAML": model.YAML, "d.xml": model.XML, "e.txt": model.TXT, "f.conf": model.Properties} {
		if got := model.FormatOf(ns); got != f {
			t.Errorf("FormatOf(%q) = %s, want %s", ns, got, f)
		}
	}
	if model.NormalizeNamespace("application.properties") != "application" || model.NormalizeNamespace(".properties") != ".properties" {
		t.Error("NormalizeNamespace")
	}
	for _, bad := range []string{"", ".x", "a/b", "a b", strings.Repeat("a", 129), "a+b"} {
		if model.ValidName("namespace", bad) == nil {
			t.Errorf("ValidName(%q) = nil", bad)
		}
	}
}

func TestDiffAndEdits(t *testing.T) {
	t.Parallel()
	a := map[string]string{"same": "1", "chg": "old", "gone": "x"}
	b := map[string]string{"same": "1", "chg": "new", "new": "y"}
	got := fmt.Sprint(model.Diff(a, b))
	want := "[{changed chg old new} {deleted gone x } {added new  y}]"
	if got != want {
		t.Fatalf("Diff = %s, want %s", got, want)
	}
	var e model.Edits
	e.SetKey("chg", "gray")
	e.DeleteKey("gone")
	e.SetKey("gone", "back")
	e.DeleteKey("same")
	if got := fmt.Sprint(e.Apply(a)); got != "map[chg:gray gone:back]" {
		t.Fatalf("Apply = %s", got)
	}
}

func TestReleaseKey(t *testing.T) {
	t.Parallel()
	k := model.ReleaseKey(mustTime(t), "shop", "default", "application", 3, map[string]string{"a": "1"})
	if len(k) != 14+1+16 || k[:14] != "20261206230000" {
		t.Fatalf("ReleaseKey = %q", k)
	}
	if k == model.ReleaseKey(mustTime(t), "shop", "default", "application", 4, map[string]string{"a": "1"}) {
		t.Fatal("two releases with one key")
	}
}

func TestYAMLErrorNamesTheLine(t *testing.T) {
	t.Parallel()
	err := model.ValidateContent(model.YAML, "a: 1\nb: [1\nc: 2\n")
	if err == nil || !strings.HasPrefix(err.Error(), "line ") || strings.Contains(err.Error(), "yaml:") {
		t.Fatalf("ValidateContent = %v", err)
	}
	t.Log(err)
}
