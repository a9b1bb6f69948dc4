package metric

import (
	"unicode/utf16"
	"unicode/utf8"
)

// strSlow unescapes a string with escapes from start (just after the quote).
func (d *decoder) strSlow(start int) ([]byte, error) {
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
			r, n := hex4(d.b[i:])
			if n < 0 {
				d.i = i
				return nil, d.errf("invalid \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, n2 := hex4(d.b[min(i+2, len(d.b)):]); n2 >= 0 && i+1 < len(d.b) && d.b[i] == '\\' && d.b[i+1] == 'u' {
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

func hex4(b []byte) (rune, int) {
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
