package metric

import (
	"bytes"
	"fmt"
	"strconv"
)

// DecodeError says why a push body is not a Falcon array; nothing of such
// a body is used.
type DecodeError struct {
	// Offset is the byte offset where decoding stopped.
	Offset int
	// Index is the array element (-1: outside any element).
	Index int
	// Field is the element's key being decoded, or "".
	Field string
	Msg   string
}

// Error implements error.
func (e *DecodeError) Error() string {
	switch {
	case e.Field != "":
		return fmt.Sprintf("item %d: field %q %s (at byte %d)", e.Index, e.Field, e.Msg, e.Offset)
	case e.Index >= 0:
		return fmt.Sprintf("item %d: %s (at byte %d)", e.Index, e.Msg, e.Offset)
	}
	return fmt.Sprintf("%s (at byte %d)", e.Msg, e.Offset)
}

// MaxItems bounds the items of one push: a body of tiny items ([{},{},...])
// must not make millions of Items. Falcon agents push tens to thousands.
const MaxItems = 100_000

// maxDepth bounds the nesting of values skipped under unknown keys.
const maxDepth = 64

// Decode appends the items of a Falcon push body (a JSON array of
// objects) to dst. Keys match case-insensitively like encoding/json's,
// unknown keys are skipped, a repeated key keeps its last value, a null
// field keeps its zero value, and a null element is an Item with Null set.
// A body that is not such an array, or an element whose endpoint, metric,
// counterType or tags is not a string or whose timestamp or step is not an
// integer, or more than MaxItems elements, is a *DecodeError.
func Decode(body []byte, dst []Item) ([]Item, error) {
	d := decoder{b: body, idx: -1, next: falconOrder}
	d.ws()
	if !d.eat('[') {
		return dst, d.errf("body must be a JSON array of {endpoint, metric, timestamp, step, value, counterType, tags}")
	}
	d.ws()
	if d.eat(']') {
		return dst, d.end()
	}
	for {
		d.idx++
		if d.idx >= MaxItems {
			d.idx = -1
			return dst, d.errf("more than %d items in one push; split it", MaxItems)
		}
		d.ws()
		// The item is decoded in its place in dst, not copied there.
		dst = append(dst, Item{})
		it := &dst[len(dst)-1]
		if !d.agentItem(it) {
			if d.isNull() {
				it.Null = true
			} else if err := d.item(it); err != nil {
				*it = Item{}
				return dst[:len(dst)-1], err
			}
		}
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat(']') {
			return dst, d.end()
		}
		d.idx = -1
		return dst, d.errf("expected , or ] after item %d", len(dst)-1)
	}
}

type decoder struct {
	b     []byte
	i     int
	idx   int
	field keyID  // the key whose value is being decoded, for errors
	buf   []byte // unescape scratch
	// next is the key expected after each key (after keyUnknown: first).
	next [keyCount]keyID
	// tsAt and tsLen locate the last timestamp read by the short scan
	// (digits, maybe a minus), ts is its value.
	tsAt, tsLen int
	ts          int64
	// plain: the last str was the body's bytes as they are.
	plain bool
	// recent interns the strings of the push's items.
	recent [internedFields]pushInterner
	// last is each interned field's last plain string (no '"', '\\',
	// control characters, valid UTF-8), tried first against the body.
	last [internedFields]string
}

func (d *decoder) errf(format string, args ...any) error {
	return &DecodeError{Offset: d.i, Index: d.idx, Field: keyNames[d.field], Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) end() error {
	d.ws()
	if d.i != len(d.b) {
		d.idx = -1
		return d.errf("data after the array")
	}
	return nil
}

// ws skips white space; compact JSON (the next byte is above a space)
// costs one compare, inlined.
func (d *decoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	d.wsSlow()
}

func (d *decoder) wsSlow() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *decoder) lit(s string) bool {
	if bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		d.i += len(s)
		return true
	}
	return false
}

// isNull reads a JSON null, if that is next.
func (d *decoder) isNull() bool {
	if len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *decoder) item(it *Item) error {
	if !d.eat('{') {
		return d.errf("must be a JSON object")
	}
	d.ws()
	if d.eat('}') {
		return nil
	}
	// An agent sends the keys of all its items in one order, quoted,
	// colon next: the member that followed the previous key last time is
	// matched whole before the general path reads any key.
	prev := keyUnknown // the item's start
	for {
		d.ws()
		key := d.next[prev]
		if m := &keyMembers[key]; m.match(d.b[d.i:]) {
			d.i += m.n
			prev = key
		} else {
			k, err := d.str()
			if err != nil {
				return err
			}
			key = fieldKey(k)
			d.ws()
			if !d.eat(':') {
				return d.errf("expected : after a key")
			}
			if key != keyUnknown {
				d.next[prev], prev = key, key
			}
		}
		d.ws()
		d.field = key
		if err := d.value(it, key); err != nil {
			return err
		}
		d.field = keyUnknown
		d.ws()
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			return nil
		}
		return d.errf("expected , or } in the object")
	}
}

// value decodes the value of key into it (skipping it for unknown keys).
func (d *decoder) value(it *Item, key keyID) error {
	if d.i < len(d.b) && d.b[d.i] == 'n' && d.isNull() {
		if key == keyValue {
			it.Kind, it.Str, it.Num, it.NumOK = ValueNone, "", 0, false
		}
		return nil
	}
	switch key {
	case keyEndpoint, keyMetric, keyCounterType, keyTags:
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return d.errf("must be a string")
		}
		var err error
		switch key {
		case keyEndpoint:
			it.Endpoint, err = d.internedStr(fieldEndpoint)
		case keyMetric:
			it.Metric, err = d.internedStr(fieldMetric)
		case keyTags:
			it.Tags, err = d.internedStr(fieldTags)
		case keyCounterType:
			var s []byte
			if s, err = d.str(); err == nil {
				it.CounterType = counterType(s)
			}
		}
		return err
	case keyTimestamp:
		n, err := d.timestamp()
		if err != nil {
			return err
		}
		it.Timestamp = n
		return nil
	case keyStep:
		n, err := d.integer()
		if err != nil {
			return err
		}
		it.Step = n
		return nil
	case keyValue:
		return d.pushedValue(it)
	}
	return d.skip(0)
}

// internedStr reads the string at d.i (at its quote) as field f's
// interned string. The field's last plain string is tried first, byte for
// byte with the closing quote after it: the body then holds that very
// string (it has nothing that str would stop at or change), as an agent's
// endpoint does in every item.
func (d *decoder) internedStr(f int) (string, error) {
	last := d.last[f]
	if j, n := d.i+1, len(last); len(d.b)-j > n && d.b[j+n] == '"' && string(d.b[j:j+n]) == last {
		d.i = j + n + 1
		return last, nil
	}
	b, err := d.str()
	if err != nil {
		return "", err
	}
	s := d.recent[f].intern(b)
	if d.plain {
		d.last[f] = s
	}
	return s, nil
}

func counterType(b []byte) string {
	switch string(b) {
	case Gauge:
		return Gauge
	case Counter:
		return Counter
	case Derive:
		return Derive
	}
	return string(b)
}

func (d *decoder) pushedValue(it *Item) error {
	if d.i >= len(d.b) {
		return d.errf("unexpected end of body")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		it.Kind, it.Str, it.Num, it.NumOK = ValueString, string(s), 0, false
		return nil
	case c == '-' || (c >= '0' && c <= '9'):
		if f, ok := d.shortDecimal(); ok {
			it.Kind, it.Str, it.Num, it.NumOK = ValueNumber, "", f, true
			return nil
		}
		lit, err := d.number()
		if err != nil {
			return err
		}
		f, perr := strconv.ParseFloat(string(lit), 64)
		it.Kind, it.Str, it.Num, it.NumOK = ValueNumber, "", f, perr == nil
		return nil
	default:
		if err := d.skip(0); err != nil {
			return err
		}
		it.Kind, it.Str, it.Num, it.NumOK = ValueOther, "", 0, false
		return nil
	}
}

// skip skips any JSON value.
func (d *decoder) skip(depth int) error {
	if depth > maxDepth {
		return d.errf("nested deeper than %d", maxDepth)
	}
	d.ws()
	if d.i >= len(d.b) {
		return d.errf("unexpected end of body")
	}
	switch c := d.b[d.i]; {
	case c == '"':
		_, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.number()
		return err
	case d.lit("true"), d.lit("false"), d.lit("null"):
		return nil
	case c == '[' || c == '{':
		close := byte(']')
		if c == '{' {
			close = '}'
		}
		d.i++
		d.ws()
		if d.eat(close) {
			return nil
		}
		for {
			if c == '{' {
				d.ws()
				if _, err := d.str(); err != nil {
					return err
				}
				d.ws()
				if !d.eat(':') {
					return d.errf("expected : after a key")
				}
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			d.ws()
			if d.eat(',') {
				continue
			}
			if d.eat(close) {
				return nil
			}
			return d.errf("expected , or %c", close)
		}
	}
	return d.errf("invalid JSON value")
}
