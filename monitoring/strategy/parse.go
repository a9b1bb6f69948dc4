package strategy

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/wharfhq/wharf/internal/strictjson"
)

// Parse decodes a strategy sent by a client (exactly one JSON object, no
// key twice, no unknown field, no trailing data) and compiles it. Every
// problem comes back as a *FieldError (joined), naming the field: a wrong
// type ("max_step: want a number, got string"), an unknown or repeated key,
// or what Compile refuses.
func Parse(b []byte) (Strategy, *Compiled, error) {
	s, err := Decode(b)
	if err != nil {
		return Strategy{}, nil, err
	}
	c, err := Compile(s)
	if err != nil {
		return Strategy{}, nil, err
	}
	return s, c, nil
}

// Decode decodes a strategy sent by a client as Parse does, without
// compiling it (for a caller that fills in fields first, such as a
// generated id); errors are *FieldError as Parse's.
func Decode(b []byte) (Strategy, error) {
	var s Strategy
	if err := strictjson.Decode(b, &s); err != nil {
		return Strategy{}, decodeError(err)
	}
	return s, nil
}

// decodeError turns a decoding error into a *FieldError where it names a
// field.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var de *strictjson.DuplicateKeyError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return &FieldError{Field: te.Field, Msg: "want " + jsonKind(te.Type.Kind().String()) + ", got " + te.Value}
	case errors.As(err, &de):
		return &FieldError{Field: de.Path, Msg: "duplicate key; give each key once"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &FieldError{Field: strings.Trim(name, `"`), Msg: "unknown field"}
	}
	return &FieldError{Field: "(body)", Msg: "is not a strategy JSON object: " + err.Error()}
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "map", k == "struct", k == "ptr":
		return "an object"
	case k == "slice":
		return "an array"
	}
	return k
}
