// Package strictjson is the one JSON decoder for request bodies: exactly one
// JSON value, no key twice in an object (a body with "path" twice means
// whatever the parser that reads it last decides), no trailing data and,
// unless told otherwise, no unknown fields.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// DuplicateKeyError names a key that occurs twice in one object, by its
// path in the document, e.g. "routes[2].path" or "weights.east".
type DuplicateKeyError struct {
	Path string
}

// Error implements error: "<path>: duplicate key".
func (e *DuplicateKeyError) Error() string { return quotePath(e.Path) + ": duplicate key" }

// ErrTrailingData is returned when something other than white space follows
// the JSON value.
var ErrTrailingData = errors.New("trailing data after the JSON value")

// Decode decodes the one JSON value in b into v, refusing duplicate keys,
// trailing data and fields v does not have.
func Decode(b []byte, v any) error { return decode(b, v, true) }

// DecodeLenient is Decode ignoring unknown fields, for bodies that newer
// clients may extend (agent heartbeats and events); duplicate keys and
// trailing data are still refused.
func DecodeLenient(b []byte, v any) error { return decode(b, v, false) }

func decode(b []byte, v any, strict bool) error {
	if err := checkDuplicates(b, reflect.TypeOf(v)); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Not dec.More, which is false before a stray closing bracket.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailingData
	}
	return nil
}

// frame is one open object or array while scanning.
type frame struct {
	object  bool
	wantKey bool                // in an object: the next string is a key
	key     string              // in an object: the key of the value being read
	keys    map[string]struct{} // in an object: keys (or struct fields) seen
	index   int                 // in an array: the index of the value being read
	// typ is what the object or array decodes into (nil: unknown);
	// fields are typ's when it is a struct, child the type of the value
	// being read.
	typ    reflect.Type
	fields []field
	child  reflect.Type
}

// valueDone advances the frame past one value.
func (f *frame) valueDone() {
	if f.object {
		f.wantKey = true
	} else {
		f.index++
	}
}

// path renders the position of the innermost frame's current value, e.g.
// "routes[2].path"; built only when reported, so scanning stays linear.
func path(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		} else {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// CheckDuplicates returns a *DuplicateKeyError for the first key that
// occurs twice in one object of the first JSON value in b. It does not
// report syntax errors (the decoder that follows does): invalid JSON is
// scanned only up to the error. Nesting is tracked on the heap, so deep
// documents cannot exhaust the stack, and the scan is linear in len(b).
func CheckDuplicates(b []byte) error { return checkDuplicates(b, nil) }

// checkDuplicates is CheckDuplicates knowing that b decodes into root (nil:
// unknown): in an object that decodes into a struct, two keys that
// encoding/json maps to one field ("path" and "PATH") are duplicates too.
func checkDuplicates(b []byte, root reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				f := frame{object: t == '{', wantKey: t == '{', typ: shape(root)}
				if top != nil {
					f.typ = shape(top.child)
				}
				switch {
				case f.typ == nil:
				case f.object && f.typ.Kind() == reflect.Struct:
					f.fields = fieldsOf(f.typ)
				case f.object && f.typ.Kind() == reflect.Map, !f.object && (f.typ.Kind() == reflect.Slice || f.typ.Kind() == reflect.Array):
					f.child = f.typ.Elem()
				default:
					f.typ = nil
				}
				if f.object {
					f.keys = map[string]struct{}{}
				}
				stack = append(stack, f)
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil
				}
				stack[len(stack)-1].valueDone()
			}
			continue
		case string:
			if top != nil && top.object && top.wantKey {
				top.key = t
				id := t
				if top.fields != nil {
					// Fields and unknown keys in separate name spaces.
					id, top.child = "\x01"+t, nil
					if f, ok := match(top.fields, t); ok {
						id, top.child = "\x00"+f.name, f.typ
					}
				}
				if _, dup := top.keys[id]; dup {
					return &DuplicateKeyError{Path: path(stack)}
				}
				top.keys[id] = struct{}{}
				top.wantKey = false
				continue
			}
		}
		if top == nil {
			return nil // a scalar document
		}
		top.valueDone()
	}
}

// quotePath returns p as is when it is printable ASCII, else quoted, so a
// key with control characters cannot forge a message.
func quotePath(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] >= 0x7f || p[i] == '"' {
			return strconv.Quote(p)
		}
	}
	return p
}
