package engine

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The targeting language is evaluated with JavaScript's coercions, as
// GrowthBook's SDK does. Values are what encoding/json decodes into an
// any (nil, bool, float64, string, []any, map[string]any); Go integers
// and float32 count as numbers.

// number reports v as a float64 when it is a JSON or Go number.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case float32:
		return float64(x), true
	}
	return 0, false
}

// typeOf is JavaScript's type of v as GrowthBook's $type names it.
func typeOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	if _, ok := number(v); ok {
		return "number"
	}
	return "unknown"
}

// truthy is JavaScript's !!v.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	}
	if f, ok := number(v); ok {
		return f != 0 && !math.IsNaN(f)
	}
	return true
}

// jsString is JavaScript's String(v) (v + "").
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		var b strings.Builder
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if e != nil {
				b.WriteString(jsString(e))
			}
		}
		return b.String()
	case map[string]any:
		return "[object Object]"
	}
	if f, ok := number(v); ok {
		return numberString(f)
	}
	return ""
}

// numberString is JavaScript's Number.prototype.toString() for f: the
// shortest digits that round-trip, in fixed notation for 1e-7 ≤ |f| < 1e21
// and exponent notation ("1e+21", "1.5e-7") outside.
func numberString(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k := len(digits)
	n := x + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	es := "+"
	if n-1 < 0 {
		es = "-"
	}
	ea := strconv.Itoa(abs(n - 1))
	if k == 1 {
		return sign + digits + "e" + es + ea
	}
	return sign + digits[:1] + "." + digits[1:] + "e" + es + ea
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// toNumber is JavaScript's Number(v) (v * 1).
func toNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 1
		}
		return 0
	case string:
		return stringToNumber(x)
	case []any:
		return stringToNumber(jsString(x))
	case map[string]any:
		return math.NaN()
	}
	if f, ok := number(v); ok {
		return f
	}
	return math.NaN()
}

// stringToNumber is JavaScript's StringToNumber: surrounding white space
// ignored, "" is 0, 0x/0o/0b integers, [+-]Infinity, and decimal literals;
// anything else is NaN.
func stringToNumber(s string) float64 {
	s = strings.TrimFunc(s, isJSSpace)
	if s == "" {
		return 0
	}
	if len(s) > 2 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			return radixNumber(s[2:], base)
		}
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if body == "Infinity" {
		if s[0] == '-' {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	if !isDecimalLiteral(body) {
		return math.NaN()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return math.NaN()
	}
	return f
}

// radixNumber parses digits in base, without sign; NaN if any is invalid.
func radixNumber(digits string, base int) float64 {
	f := 0.0
	for i := 0; i < len(digits); i++ {
		d := digitValue(digits[i])
		if d >= base {
			return math.NaN()
		}
		f = f*float64(base) + float64(d)
	}
	return f
}

func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}

// isDecimalLiteral reports whether s is digits [. digits] [e [+-] digits]
// with at least one digit before the exponent (".5" and "5." count).
func isDecimalLiteral(s string) bool {
	i, mantissa := 0, 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		mantissa++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			mantissa++
		}
	}
	if mantissa == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// isJSSpace is JavaScript's WhiteSpace or LineTerminator.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// primitive is JavaScript's ToPrimitive with hint number for JSON
// values: arrays and objects become their strings.
func primitive(v any) any {
	switch v.(type) {
	case []any, map[string]any:
		return jsString(v)
	}
	return v
}

// compare is JavaScript's abstract relational comparison of a and b:
// -1, 0 or 1, and false when it is undefined (a NaN on either side).
// Two strings compare by UTF-16 code units; anything else as numbers.
func compare(a, b any) (int, bool) {
	pa, pb := primitive(a), primitive(b)
	sa, aok := pa.(string)
	sb, bok := pb.(string)
	if aok && bok {
		return compareUTF16(sa, sb), true
	}
	x, y := toNumber(pa), toNumber(pb)
	switch {
	case math.IsNaN(x) || math.IsNaN(y):
		return 0, false
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// compareUTF16 orders a and b as JavaScript strings: by UTF-16 code
// units, which differs from UTF-8 byte order for characters above U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Key(ra), utf16Key(rb)
			if ua < ub {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// utf16Key maps r to a number ordered as its UTF-16 encoding is: code
// points above U+FFFF (surrogates D800–DBFF first) sort below U+E000.
func utf16Key(r rune) uint32 {
	if r >= 0x10000 {
		r -= 0x10000
		return (0xd800+uint32(r>>10))<<16 | (0xdc00 + uint32(r&0x3ff))
	}
	return uint32(r) << 16
}

// strictEqual is JavaScript's a === b for JSON values: arrays and
// objects are never equal (they are distinct objects).
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case []any, map[string]any:
		return false
	}
	x, ok := number(a)
	if !ok {
		return false
	}
	y, ok := number(b)
	return ok && x == y
}

// sameValueZero is Array.prototype.includes' equality: === except that
// NaN equals NaN.
func sameValueZero(a, b any) bool {
	if x, ok := number(a); ok && math.IsNaN(x) {
		y, ok := number(b)
		return ok && math.IsNaN(y)
	}
	return strictEqual(a, b)
}

// jsonEqual reports whether JSON.stringify(a) === JSON.stringify(b).
// Object keys compare as sets: Go maps keep no insertion order, where
// JavaScript would call two objects with the same keys in another order
// different.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	// NaN and ±Infinity stringify as null.
	if f, ok := number(a); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		a = nil
	}
	if f, ok := number(b); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		b = nil
	}
	return strictEqual(a, b)
}
