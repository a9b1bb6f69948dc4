package metric

// This file is the push decoder as it was before its speed work (commit
// 2825be6), kept verbatim under ref* names: decode_diff_test.go checks that
// the decoder gives the same items and the same errors (offset, index,
// field, message) on any body.

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// refMaxDepth bounds the nesting of values skipped under unknown keys.
const refMaxDepth = 64

// refDecode is Decode as it was: it appends the items of a Falcon push body (a JSON array of
// objects) to dst. Keys match case-insensitively like encoding/json's,
// unknown keys are skipped, a repeated key keeps its last value, a null
// field keeps its zero value, and a null element is an Item with Null set.
// A body that is not such an array, or an element whose endpoint, metric,
// counterType or tags is not a string or whose timestamp or step is not an
// integer, or more than MaxItems elements, is a *DecodeError.
func refDecode(body []byte, dst []Item) ([]Item, error) {
	d := refDecoder{b: body, idx: -1}
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
		var it Item
		if d.lit("null") {
			it.Null = true
		} else if err := d.item(&it); err != nil {
			return dst, err
		}
		dst = append(dst, it)
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

type refDecoder struct {
	b     []byte
	i     int
	idx   int
	field string
	buf   []byte // unescape scratch
	// recent interns the strings of the push's items.
	recent [refInternedFields]refRecentStrings
}

func (d *refDecoder) errf(format string, args ...any) error {
	return &DecodeError{Offset: d.i, Index: d.idx, Field: d.field, Msg: fmt.Sprintf(format, args...)}
}

func (d *refDecoder) end() error {
	d.ws()
	if d.i != len(d.b) {
		d.idx = -1
		return d.errf("data after the array")
	}
	return nil
}

func (d *refDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *refDecoder) eat(c byte) bool {
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *refDecoder) lit(s string) bool {
	if bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		d.i += len(s)
		return true
	}
	return false
}

// Field refKeys as Falcon names them.
const (
	refKeyEndpoint    = "endpoint"
	refKeyMetric      = "metric"
	refKeyTimestamp   = "timestamp"
	refKeyStep        = "step"
	refKeyValue       = "value"
	refKeyCounterType = "counterType"
	refKeyTags        = "tags"
)

var refKeys = [...]string{refKeyEndpoint, refKeyMetric, refKeyTimestamp, refKeyStep, refKeyValue, refKeyCounterType, refKeyTags}

// refFieldKey returns the field k names, matched like encoding/json
// (case-insensitively), or "" for an unknown key. Keys spelled as Falcon
// spells them match without the case-folding loop.
func refFieldKey(k []byte) string {
	switch string(k) {
	case refKeyEndpoint:
		return refKeyEndpoint
	case refKeyMetric:
		return refKeyMetric
	case refKeyTimestamp:
		return refKeyTimestamp
	case refKeyStep:
		return refKeyStep
	case refKeyValue:
		return refKeyValue
	case refKeyCounterType:
		return refKeyCounterType
	case refKeyTags:
		return refKeyTags
	}
	for _, c := range refKeys {
		if bytes.EqualFold(k, []byte(c)) {
			return c
		}
	}
	return ""
}

func (d *refDecoder) item(it *Item) error {
	if !d.eat('{') {
		return d.errf("must be a JSON object")
	}
	d.ws()
	if d.eat('}') {
		return nil
	}
	for {
		d.ws()
		k, err := d.str()
		if err != nil {
			return err
		}
		key := refFieldKey(k)
		d.ws()
		if !d.eat(':') {
			return d.errf("expected : after a key")
		}
		d.ws()
		d.field = key
		if err := d.value(it, key); err != nil {
			return err
		}
		d.field = ""
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
func (d *refDecoder) value(it *Item, key string) error {
	if d.lit("null") {
		if key == refKeyValue {
			it.Kind, it.Str, it.Num, it.NumOK = ValueNone, "", 0, false
		}
		return nil
	}
	switch key {
	case refKeyEndpoint, refKeyMetric, refKeyCounterType, refKeyTags:
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return d.errf("must be a string")
		}
		s, err := d.str()
		if err != nil {
			return err
		}
		switch key {
		case refKeyEndpoint:
			it.Endpoint = d.recent[refFieldEndpoint].intern(s)
		case refKeyMetric:
			it.Metric = d.recent[refFieldMetric].intern(s)
		case refKeyCounterType:
			it.CounterType = refCounterType(s)
		case refKeyTags:
			it.Tags = d.recent[refFieldTags].intern(s)
		}
		return nil
	case refKeyTimestamp, refKeyStep:
		n, err := d.integer()
		if err != nil {
			return err
		}
		if key == refKeyStep {
			it.Step = n
		} else {
			it.Timestamp = n
		}
		return nil
	case refKeyValue:
		return d.pushedValue(it)
	}
	return d.skip(0)
}

func refCounterType(b []byte) string {
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

func (d *refDecoder) pushedValue(it *Item) error {
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

// integer reads a JSON number that must be an integer in int64 range.
func (d *refDecoder) integer() (int64, error) {
	if d.i >= len(d.b) || !(d.b[d.i] == '-' || (d.b[d.i] >= '0' && d.b[d.i] <= '9')) {
		return 0, d.errf("must be an integer")
	}
	if m, frac, end, ok := d.scanShort(); ok && frac == 0 {
		d.i = end
		return m, nil
	}
	lit, err := d.number()
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseInt(string(lit), 10, 64)
	if perr != nil {
		return 0, d.errf("must be an integer in int64 range, got %s", lit)
	}
	return n, nil
}

// refPow10 are the powers of ten a float64 holds exactly.
var refPow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scanShort reads at d.i a JSON number of the common short form: an
// optional minus, at most 15 digits in all, an optional fraction, no
// exponent. It returns the digits as an integer m (signed), the number of
// fraction digits and where the number ends; ok is false for anything else
// (left to number and strconv), and d.i is not moved.
func (d *refDecoder) scanShort() (m int64, frac, end int, ok bool) {
	b, i := d.b, d.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start, digits := i, 0
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		m = m*10 + int64(b[i]-'0')
		digits++
	}
	if digits == 0 || digits > 15 || (b[start] == '0' && digits > 1) {
		return 0, 0, 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			m = m*10 + int64(b[i]-'0')
			digits++
			frac++
		}
		if frac == 0 || digits > 15 {
			return 0, 0, 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return 0, 0, 0, false
	}
	if neg {
		m = -m
	}
	return m, frac, i, true
}

// shortDecimal reads a number of scanShort's form as strconv.ParseFloat
// would, bit for bit: at most 15 digits are exact in a float64, as is 10^k
// for k ≤ 22, and the quotient of two exact float64 is correctly rounded
// (strconv's own exact fast path).
func (d *refDecoder) shortDecimal() (float64, bool) {
	m, frac, end, ok := d.scanShort()
	if !ok {
		return 0, false
	}
	f := float64(m)
	if frac > 0 {
		f /= refPow10[frac]
	}
	if m == 0 && d.b[d.i] == '-' {
		f = math.Copysign(0, -1) // ParseFloat("-0") is negative zero
	}
	d.i = end
	return f, true
}

// number scans a JSON number and returns its text.
func (d *refDecoder) number() ([]byte, error) {
	start := d.i
	b := d.b
	i := d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return nil, d.errf("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.errf("invalid number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return nil, d.errf("invalid number")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], nil
}
