package realip

import "net/netip"

// maxEntryLen bounds a single forwarded entry after trimming. The longest
// address we accept is a bracketed IPv6 with embedded IPv4, a zone and a port
// ("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%zone]:65535", 54 bytes plus
// the zone); interface names are at most 15 bytes on Linux, so anything longer
// than this is junk and is rejected without being parsed.
const maxEntryLen = 80

// trimOWS removes HTTP optional whitespace (spaces and horizontal tabs) from
// both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseEntry parses one X-Forwarded-For list element (already split on
// commas, not yet trimmed). Accepted forms, with surrounding whitespace:
//
//	1.2.3.4
//	1.2.3.4:5678
//	2001:db8::1
//	2001:db8::1%eth0          (zone dropped)
//	[2001:db8::1]             (brackets only around IPv6)
//	[2001:db8::1]:443
//	[fe80::1%eth0]:443        (zone dropped)
//	::ffff:1.2.3.4            (returned unmapped, as 1.2.3.4)
//
// A zone must be non-empty and made of letters, digits, '-', '_' and '.'.
// Everything else — empty elements, "unknown", obfuscated identifiers such
// as "_hidden", ports outside 0-65535, entries longer than maxEntryLen — is
// rejected. The result is always unmapped and has no zone. It never
// allocates.
func parseEntry(b []byte) (netip.Addr, bool) {
	b = trimOWS(b)
	if len(b) == 0 || len(b) > maxEntryLen {
		return netip.Addr{}, false
	}
	if !validZone(b) {
		return netip.Addr{}, false
	}
	if b[0] == '[' {
		end := -1
		for i := 1; i < len(b); i++ {
			if b[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return netip.Addr{}, false
		}
		if rest := b[end+1:]; len(rest) > 0 && (rest[0] != ':' || !validPort(rest[1:])) {
			return netip.Addr{}, false
		}
		host := b[1:end]
		if !hasColon(host) { // brackets are for IPv6 only
			return netip.Addr{}, false
		}
		return parseAddr(host)
	}
	// Unbracketed: exactly one colon means IPv4:port; IPv6 has at least two.
	colons, last := 0, -1
	for i, c := range b {
		if c == ':' {
			colons++
			last = i
		}
	}
	if colons == 1 {
		if !validPort(b[last+1:]) {
			return netip.Addr{}, false
		}
		ip4, ok := parseIPv4(b[:last])
		if !ok {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4(ip4), true
	}
	return parseAddr(b)
}

// validZone reports whether the IPv6 zone in b, if any, is made of interface
// name characters only (letters, digits, '-', '_', '.'); the zone ends at
// ']' for a bracketed entry.
func validZone(b []byte) bool {
	i := 0
	for i < len(b) && b[i] != '%' {
		i++
	}
	if i == len(b) {
		return true
	}
	for _, c := range b[i+1:] {
		if c == ']' {
			return true
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func hasColon(b []byte) bool {
	for _, c := range b {
		if c == ':' {
			return true
		}
	}
	return false
}

// validPort reports whether b is a decimal port 0-65535 of 1-5 digits.
func validPort(b []byte) bool {
	if len(b) == 0 || len(b) > 5 {
		return false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// parseAddr parses b exactly like netip.ParseAddr(string(b)) would, except
// that the IPv6 zone is dropped and the result is unmapped. It exists because
// netip.ParseAddr keeps its argument in the error value, so string(b) always
// escapes and allocates.
func parseAddr(b []byte) (netip.Addr, bool) {
	for _, c := range b {
		switch c {
		case '.':
			ip4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			return netip.AddrFrom4(ip4), true
		case ':':
			ip6, ok := parseIPv6(b)
			if !ok {
				return netip.Addr{}, false
			}
			return netip.AddrFrom16(ip6).Unmap(), true
		case '%':
			return netip.Addr{}, false
		}
	}
	return netip.Addr{}, false
}

// parseIPv4 parses dotted-quad IPv4 with netip's rules: four fields of 1-3
// digits, each at most 255, no leading zeros.
func parseIPv4(s []byte) (ip [4]byte, ok bool) {
	var val, pos, digLen int
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digLen == 1 && val == 0 {
				return ip, false // leading zero
			}
			val = val*10 + int(c-'0')
			digLen++
			if val > 255 {
				return ip, false
			}
		case c == '.':
			if i == 0 || i == len(s)-1 || s[i-1] == '.' || pos == 3 {
				return ip, false
			}
			ip[pos] = uint8(val)
			pos++
			val, digLen = 0, 0
		default:
			return ip, false
		}
	}
	if pos < 3 {
		return ip, false
	}
	ip[3] = uint8(val)
	return ip, true
}

// parseIPv6 is netip's parseIPv6 over bytes; a non-empty zone is accepted and
// discarded.
func parseIPv6(in []byte) (ip [16]byte, ok bool) {
	s := in
	for i, c := range s {
		if c == '%' {
			if i == len(s)-1 {
				return ip, false // empty zone
			}
			s = s[:i]
			break
		}
	}
	full := s // address without zone, for the embedded IPv4 tail
	ellipsis := -1
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return ip, true
		}
	}
	i := 0
	for i < 16 {
		off := 0
		acc := uint32(0)
		for ; off < len(s); off++ {
			c := s[off]
			switch {
			case c >= '0' && c <= '9':
				acc = acc<<4 + uint32(c-'0')
			case c >= 'a' && c <= 'f':
				acc = acc<<4 + uint32(c-'a'+10)
			case c >= 'A' && c <= 'F':
				acc = acc<<4 + uint32(c-'A'+10)
			default:
				goto done
			}
			if off > 3 || acc > 0xffff {
				return ip, false
			}
		}
	done:
		if off == 0 {
			return ip, false
		}
		if off < len(s) && s[off] == '.' {
			if ellipsis < 0 && i != 12 {
				return ip, false
			}
			if i+4 > 16 {
				return ip, false
			}
			ip4, ok := parseIPv4(full[len(full)-len(s):])
			if !ok {
				return ip, false
			}
			copy(ip[i:i+4], ip4[:])
			s = nil
			i += 4
			break
		}
		ip[i] = byte(acc >> 8)
		ip[i+1] = byte(acc)
		i += 2
		s = s[off:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return ip, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return ip, false
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return ip, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return ip, false
		}
		n := 16 - i
		for j := i - 1; j >= ellipsis; j-- {
			ip[j+n] = ip[j]
		}
		clear(ip[ellipsis : ellipsis+n])
	} else if ellipsis >= 0 {
		return ip, false
	}
	return ip, true
}
