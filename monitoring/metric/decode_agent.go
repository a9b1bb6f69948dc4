package metric

import "unicode/utf8"

// agentItem decodes the item at d.i as agents write it: compact, its keys in
// the order the push showed so far, plain strings (no escapes, valid
// UTF-8), short numbers (scanShort's form), no nulls. It returns false at
// anything else, with d.i unmoved and it zero: the general path then
// decodes the item from its start, so its results (and errors) stay the
// only ones.
func (d *decoder) agentItem(it *Item) bool {
	if d.agentFill(it) {
		return true
	}
	*it = Item{}
	return false
}

// agentFill is agentItem on local copies of the body and offset; it may
// leave it partly filled when it returns false.
func (d *decoder) agentFill(it *Item) bool {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i++
	prev := keyUnknown
	for {
		key := d.next[prev]
		m := &keyMembers[key]
		if !m.match(b[i:]) {
			return false
		}
		i += m.n
		prev = key
		if i >= len(b) {
			return false
		}
		var ok bool
		switch key {
		case keyEndpoint:
			it.Endpoint, i, ok = d.agentInterned(b, i, fieldEndpoint)
		case keyMetric:
			it.Metric, i, ok = d.agentInterned(b, i, fieldMetric)
		case keyTags:
			it.Tags, i, ok = d.agentInterned(b, i, fieldTags)
		case keyCounterType:
			var s []byte
			if s, i, ok = agentPlain(b, i); ok {
				it.CounterType = counterType(s)
			}
		case keyTimestamp:
			it.Timestamp, i, ok = d.agentTimestamp(b, i)
		case keyStep:
			var frac int
			it.Step, frac, i, ok = scanShortAt(b, i)
			ok = ok && frac == 0
		case keyValue:
			i, ok = agentValue(b, i, it)
		}
		if !ok || i >= len(b) {
			return false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			d.i = i + 1
			return true
		default:
			return false
		}
	}
}

// agentPlain reads the plain string at b[i] (its quote): its bytes and where
// it ends; ok is false for anything else.
func agentPlain(b []byte, i int) (s []byte, end int, ok bool) {
	if b[i] != '"' {
		return nil, 0, false
	}
	j, high := plainEnd(b, i+1)
	if j >= len(b) || b[j] != '"' || (high&highs != 0 && !utf8.Valid(b[i+1:j])) {
		return nil, 0, false
	}
	return b[i+1 : j], j + 1, true
}

// agentInterned reads the plain string at b[i] (its quote) as field f's
// interned string, like internedStr.
func (d *decoder) agentInterned(b []byte, i, f int) (string, int, bool) {
	last := d.last[f]
	if j, n := i+1, len(last); b[i] == '"' && len(b)-j > n && b[j+n] == '"' && string(b[j:j+n]) == last {
		return last, j + n + 1, true
	}
	s, end, ok := agentPlain(b, i)
	if !ok {
		return "", 0, false
	}
	str := d.recent[f].intern(s)
	d.last[f] = str
	return str, end, true
}

// agentTimestamp reads the timestamp at b[i] like timestamp, but only in
// scanShort's form.
func (d *decoder) agentTimestamp(b []byte, i int) (int64, int, bool) {
	if n := d.tsLen; len(b)-i > n && string(b[i:i+n]) == string(b[d.tsAt:d.tsAt+n]) {
		if c := b[i+n]; n > 0 && c-'0' > 9 && c != '.' && c != 'e' && c != 'E' {
			return d.ts, i + n, true
		}
	}
	m, frac, end, ok := scanShortAt(b, i)
	if !ok || frac != 0 {
		return 0, 0, false
	}
	d.tsAt, d.tsLen, d.ts = i, end-i, m
	return m, end, true
}

// agentValue reads the pushed value at b[i] into it, like pushedValue, but
// only a plain string or a number in scanShort's form.
func agentValue(b []byte, i int, it *Item) (int, bool) {
	if c := b[i]; c == '-' || c-'0' <= 9 {
		f, end, ok := shortDecimalAt(b, i)
		if ok {
			it.Kind, it.Str, it.Num, it.NumOK = ValueNumber, "", f, true
		}
		return end, ok
	}
	s, end, ok := agentPlain(b, i)
	if ok {
		it.Kind, it.Str, it.Num, it.NumOK = ValueString, string(s), 0, false
	}
	return end, ok
}
