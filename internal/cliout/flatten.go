package cliout

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Flatten turns any JSON-encodable value into a key-value view for
// people: nested keys joined with "." ("timeouts.connect"), lists of
// scalars joined with ", ", lists of objects indexed ("instances[0].addr"),
// times shown with how long ago they were, and nothing shown for null,
// empty strings, empty lists or maps, and the zero time. Keys of an object
// keep the order of encoding/json (struct order; maps sorted).
func Flatten(v any, now time.Time) (*KV, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the view: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var kv KV
	if err := flattenValue(dec, "", &kv, now); err != nil {
		return nil, fmt.Errorf("cannot read the view: %w", err)
	}
	return &kv, nil
}

// flattenValue reads one JSON value from dec (keeping object key order)
// and adds its leaves under prefix.
func flattenValue(dec *json.Decoder, prefix string, kv *KV, now time.Time) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				if err := flattenValue(dec, join(prefix, kt.(string)), kv, now); err != nil {
					return err
				}
			}
			_, err := dec.Token() // '}'
			return err
		}
		// A list: scalars on one line, objects indexed.
		var scalars []string
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			if len(raw) > 0 && (raw[0] == '{' || raw[0] == '[') {
				sub := json.NewDecoder(strings.NewReader(string(raw)))
				sub.UseNumber()
				if err := flattenValue(sub, fmt.Sprintf("%s[%d]", prefix, i), kv, now); err != nil {
					return err
				}
				continue
			}
			var s any
			d := json.NewDecoder(strings.NewReader(string(raw)))
			d.UseNumber()
			if err := d.Decode(&s); err != nil {
				return err
			}
			if str := scalar(s, now); str != "" {
				scalars = append(scalars, str)
			}
		}
		if len(scalars) > 0 {
			kv.Add(prefix, strings.Join(scalars, ", "))
		}
		_, err := dec.Token() // ']'
		return err
	default:
		if s := scalar(t, now); s != "" {
			kv.Add(prefix, s)
		}
		return nil
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// scalar renders a JSON scalar; "" for null, "" and the zero time.
func scalar(v any, now time.Time) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if len(x) >= 20 && x[4] == '-' && x[10] == 'T' {
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				if t.IsZero() || t.Year() <= 1 {
					return ""
				}
				return fmt.Sprintf("%s (%s)", t.Local().Format(time.DateTime), Ago(t, now))
			}
		}
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// SortedKeys returns m's keys in order (for tables built from maps).
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
