package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

func leafWith(names ...string) *tls.Certificate {
	return &tls.Certificate{Leaf: &x509.Certificate{DNSNames: names}}
}

func TestIndexLookup(t *testing.T) {
	def, a, b, wild, dup := leafWith("default.test"), leafWith("a.test", "A2.test."), leafWith("b.test"), leafWith("*.w.test"), leafWith("a.test")
	ix := buildIndex([]*tls.Certificate{def, a, b, wild, dup})
	for name, want := range map[string]*tls.Certificate{
		"a.test": a, "a2.test": a, "A2.TEST.": a, "b.test": b, "x.w.test": wild, "w.test": def,
		"y.x.w.test": def, "": def, "other": def, ".w.test": def, "*.w.test": wild, ".": def,
	} {
		if got := ix.lookup(name); got != want {
			t.Errorf("lookup(%q) = %v, want %v", name, got.Leaf.DNSNames, want.Leaf.DNSNames)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ix.lookup("x.w.test") }); n != 0 {
		t.Errorf("lookup allocates %v times", n)
	}
}

func FuzzIndexLookup(f *testing.F) {
	ix := buildIndex([]*tls.Certificate{leafWith("d.test"), leafWith("*.w.test", "e.test")})
	for _, s := range []string{"", ".", "x.w.test", "E.TEST.", "..", "*."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ix.lookup(name) == nil {
			t.Fatalf("lookup(%q) returned no certificate", name)
		}
	})
}
