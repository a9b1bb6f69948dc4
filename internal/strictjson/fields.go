package strictjson

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// field is a struct field as encoding/json names it.
type field struct {
	name string
	typ  reflect.Type
}

// shape returns the type a JSON value decodes into, as far as keys go:
// pointers followed; nil for interfaces and types with their own
// UnmarshalJSON or UnmarshalText (their keys are theirs to judge).
func shape(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() == reflect.Interface {
		return nil
	}
	p := reflect.PointerTo(t)
	if p.Implements(reflect.TypeFor[json.Unmarshaler]()) || p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return nil
	}
	return t
}

// fieldsOf lists the JSON fields of struct type t, embedded structs'
// promoted fields included (without encoding/json's conflict rules, which
// only matter for duplicate detection when two fields share a name).
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if et := shape(f.Type); et != nil && et.Kind() == reflect.Struct {
				out = append(out, fieldsOf(et)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name: name, typ: f.Type})
	}
	return out
}

// match returns the field a key decodes into, as encoding/json picks it:
// an exact name first, else a case-insensitive one; ok is false for a key
// the struct does not have.
func match(fields []field, key string) (field, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}
