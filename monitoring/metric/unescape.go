package metric

import (
	"unicode/utf8"

	"github.com/wharfhq/wharf/internal/jsonesc"
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
			r, n := jsonesc.DecodeU(d.b[i:])
			if n == 0 {
				d.i = i
				return nil, d.errf("invalid \\u escape")
			}
			i += n
			out = utf8.AppendRune(out, r)
		default:
			d.i = i - 1
			return nil, d.errf("invalid escape \\%c", e)
		}
	}
	d.i = len(d.b)
	return nil, d.errf("unterminated string")
}
