package metric

import (
	"math"
	"strconv"
)

// timestamp reads an item's timestamp: an integer, like integer. The
// items of a push mostly share one, so the last one's bytes are tried
// first: the same digits, then a byte that cannot continue a number, is
// the same integer.
func (d *decoder) timestamp() (int64, error) {
	if n := d.tsLen; n > 0 && len(d.b)-d.i > n && string(d.b[d.i:d.i+n]) == string(d.b[d.tsAt:d.tsAt+n]) {
		if c := d.b[d.i+n]; c-'0' > 9 && c != '.' && c != 'e' && c != 'E' {
			d.i += n
			return d.ts, nil
		}
	}
	if d.i >= len(d.b) || !(d.b[d.i] == '-' || (d.b[d.i] >= '0' && d.b[d.i] <= '9')) {
		return 0, d.errf("must be an integer")
	}
	if m, frac, end, ok := d.scanShort(); ok && frac == 0 {
		d.tsAt, d.tsLen, d.ts = d.i, end-d.i, m
		d.i = end
		return m, nil
	}
	return d.integer()
}

// integer reads a JSON number that must be an integer in int64 range.
func (d *decoder) integer() (int64, error) {
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

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scanShort reads at d.i a JSON number of the common short form: an
// optional minus, at most 15 digits in all, an optional fraction, no
// exponent. It returns the digits as an integer m (signed), the number of
// fraction digits and where the number ends; ok is false for anything else
// (left to number and strconv), and d.i is not moved.
func (d *decoder) scanShort() (m int64, frac, end int, ok bool) {
	return scanShortAt(d.b, d.i)
}

// scanShortAt is scanShort at b[i:].
func scanShortAt(b []byte, i int) (m int64, frac, end int, ok bool) {
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
func (d *decoder) shortDecimal() (float64, bool) {
	f, end, ok := shortDecimalAt(d.b, d.i)
	if ok {
		d.i = end
	}
	return f, ok
}

// shortDecimalAt is shortDecimal at b[i:]: the number and where it ends.
func shortDecimalAt(b []byte, i int) (f float64, end int, ok bool) {
	m, frac, end, ok := scanShortAt(b, i)
	if !ok {
		return 0, 0, false
	}
	f = float64(m)
	if frac > 0 {
		f /= pow10[frac]
	}
	if m == 0 && b[i] == '-' {
		f = math.Copysign(0, -1) // ParseFloat("-0") is negative zero
	}
	return f, end, true
}

// number scans a JSON number and returns its text.
func (d *decoder) number() ([]byte, error) {
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
