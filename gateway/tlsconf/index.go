package tlsconf

import (
	"crypto/tls"
	"strings"
)

// index maps server names to certificates. It is immutable once built.
type index struct {
	exact map[string]*tls.Certificate
	// wild is keyed by the parent domain of a "*.parent" SAN.
	wild map[string]*tls.Certificate
	def  *tls.Certificate
}

// buildIndex indexes the DNS SANs of certs (each with a parsed Leaf); the
// first certificate is the default. When two certificates claim the same
// name, the earlier one wins.
func buildIndex(certs []*tls.Certificate) *index {
	ix := &index{exact: map[string]*tls.Certificate{}, wild: map[string]*tls.Certificate{}}
	for _, c := range certs {
		if c == nil {
			continue
		}
		if ix.def == nil {
			ix.def = c
		}
		if c.Leaf == nil {
			continue
		}
		for _, n := range c.Leaf.DNSNames {
			n = strings.TrimSuffix(strings.ToLower(n), ".")
			m, key := ix.exact, n
			if parent, ok := strings.CutPrefix(n, "*."); ok {
				m, key = ix.wild, parent
			}
			if _, dup := m[key]; !dup && key != "" {
				m[key] = c
			}
		}
	}
	return ix
}

// lookup returns the certificate for a client's SNI name: an exact SAN,
// else a wildcard SAN covering exactly one leading label, else the default.
// It does not allocate for lower-case names.
func (ix *index) lookup(name string) *tls.Certificate {
	if name == "" {
		return ix.def
	}
	name = strings.TrimSuffix(lower(name), ".")
	if c, ok := ix.exact[name]; ok {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c, ok := ix.wild[name[i+1:]]; ok {
			return c
		}
	}
	return ix.def
}

// lower lower-cases ASCII letters, returning s itself (no allocation) when
// it has none to change.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
