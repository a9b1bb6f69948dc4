package metric

// The string, skip, intern and unescape parts of the push decoder as it
// was before its speed work, under ref* names (see decode_ref_test.go).

import (
	"unicode/utf16"
	"unicode/utf8"
)

// str reads a JSON string; the result aliases the body or the scratch
// buffer and is valid until the next call.
func (d *refDecoder) str() ([]byte, error) {
	if !d.eat('"') {
		return nil, d.errf("expected a string")
	}
	start := d.i
	ascii := true
	for i := start; i < len(d.b); i++ {
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			if !ascii && !utf8.Valid(d.b[start:i]) {
				return []byte(string([]rune(string(d.b[start:i])))), nil
			}
			return d.b[start:i], nil
		case c == '\\':
			return d.strSlow(start)
		case c < 0x20:
			d.i = i
			return nil, d.errf("control character in a string")
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	d.i = len(d.b)
	return nil, d.errf("unterminated string")
}

// skip skips any JSON value.
func (d *refDecoder) skip(depth int) error {
	if depth > refMaxDepth {
		return d.errf("nested deeper than %d", refMaxDepth)
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

// Fields whose strings a refDecoder interns.
const (
	refFieldEndpoint = iota
	refFieldMetric
	refFieldTags
	refInternedFields
)

// refRecentSize is how many strings of a field a refDecoder remembers (a power of two).
const refRecentSize = 32

// refRecentStrings are strings of one field seen in a push, in a small
// direct-mapped table: an agent repeats its endpoint in every item and
// cycles through a few metrics and tag sets, so most items allocate none.
type refRecentStrings [refRecentSize]string

// intern returns the remembered string equal to b, else b as a new
// string that takes its slot. The slot comes from the length and the last
// bytes, where the strings of a push differ ("host-12", "k=3").
func (r *refRecentStrings) intern(b []byte) string {
	h := len(b)
	if n := len(b); n > 0 {
		h = h*31 + int(b[n-1])*7 + int(b[n/2])*3
		if n > 1 {
			h += int(b[n-2]) * 131
		}
	}
	slot := &r[h&(refRecentSize-1)]
	if *slot == string(b) {
		return *slot
	}
	s := string(b)
	*slot = s
	return s
}

// strSlow unescapes a string with escapes from start (just after the quote).
func (d *refDecoder) strSlow(start int) ([]byte, error) {
	out := d.buf[:0]
	i := start
	for i < len(d.b) {
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			d.buf = out
			if !utf8.Valid(out) {
				return []byte(string([]rune(string(out)))), nil
			}
			return out, nil
		case c < 0x20:
			d.i = i
			return nil, d.errf("control character in a string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		i++
		if i >= len(d.b) {
			break
		}
		e := d.b[i]
		i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n := refHex4(d.b[i:])
			if n < 0 {
				d.i = i
				return nil, d.errf("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, n2 := refHex4(d.b[min(i+2, len(d.b)):]); n2 >= 0 && i+1 < len(d.b) && d.b[i] == '\\' && d.b[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			d.i = i - 1
			return nil, d.errf("invalid escape \\%c", e)
		}
	}
	d.i = len(d.b)
	return nil, d.errf("unterminated string")
}

func refHex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, -1
		}
	}
	return r, 4
}
