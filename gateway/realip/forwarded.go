package realip

import "net/netip"

// parseForwardedElement parses one RFC 7239 forwarded-element (already split
// on commas) and returns the address in its "for" parameter. Parameters are
// token=value pairs separated by ';', the value a token or a quoted string
// without backslash escapes. Parameter names are case-insensitive. The for
// value is parsed like an X-Forwarded-For entry (see parseEntry), so
// "for=192.0.2.60", `for="192.0.2.60:8080"` and `for="[2001:db8::1]:443"`
// are accepted and "for=unknown", "for=_hidden" and `for="[::1]:_port"` are
// not.
func parseForwardedElement(b []byte) (netip.Addr, bool) {
	var val []byte
	found := false
	for {
		b = trimOWS(b)
		if len(b) == 0 {
			break
		}
		eq := -1
		for i, c := range b {
			if c == '=' {
				eq = i
				break
			}
			if !isTokenChar(c) {
				return netip.Addr{}, false
			}
		}
		if eq <= 0 {
			return netip.Addr{}, false
		}
		name := b[:eq]
		b = b[eq+1:]
		var v []byte
		if len(b) > 0 && b[0] == '"' {
			end := -1
			for i := 1; i < len(b); i++ {
				if b[i] == '\\' {
					return netip.Addr{}, false
				}
				if b[i] == '"' {
					end = i
					break
				}
			}
			if end < 0 {
				return netip.Addr{}, false
			}
			v = b[1:end]
			b = b[end+1:]
		} else {
			n := 0
			for n < len(b) && (isTokenChar(b[n]) || b[n] == '[' || b[n] == ']' || b[n] == ':') {
				n++
			}
			v = b[:n]
			b = b[n:]
		}
		b = trimOWS(b)
		if len(b) > 0 {
			if b[0] != ';' {
				return netip.Addr{}, false
			}
			b = b[1:]
		}
		if len(name) == 3 && name[0]|0x20 == 'f' && name[1]|0x20 == 'o' && name[2]|0x20 == 'r' {
			if found {
				return netip.Addr{}, false
			}
			found = true
			val = v
		}
	}
	if !found {
		return netip.Addr{}, false
	}
	return parseEntry(val)
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
