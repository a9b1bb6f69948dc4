package model_test

import (
	"testing"

	"github.com/wharfhq/wharf/functions/config/model"
)

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{"a=1", "k\\\n v", "\\u00", "# c\n!x\n a : b", "x=\\u0041\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		conf, err := model.ParseProperties(s)
		if err != nil {
			return
		}
		back, err := model.ParseProperties(model.FormatProperties(conf))
		if err != nil {
			t.Fatalf("formatted text does not parse: %v", err)
		}
		for k, v := range conf {
			if back[k] != v {
				t.Fatalf("key %q: %q became %q", k, v, back[k])
			}
		}
	})
}

func FuzzValidateContent(f *testing.F) {
	for _, s := range []string{`{"a":1}`, "a: [1", "<a><b/></a>", "<a>", "{\n,}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, fm := range []model.Format{model.JSON, model.YAML, model.XML, model.Properties, model.TXT} {
			_ = model.Validate(fm, map[string]string{model.ContentKey: s})
		}
	})
}
