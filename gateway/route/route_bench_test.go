package route

import (
	"fmt"
	"testing"
)

func BenchmarkMatch(b *testing.B) {
	var specs []Spec
	for i := 0; i < 100; i++ {
		specs = append(specs, Spec{Host: fmt.Sprintf("svc%d.example.com", i), Path: "/"})
		specs = append(specs, Spec{Host: fmt.Sprintf("svc%d.example.com", i), Path: fmt.Sprintf("/v%d/items/", i)})
	}
	specs = append(specs, Spec{Host: "*.example.com", Path: "/"}, Spec{Path: "/api/"}, Spec{Path: "/"})
	tab := mustCompile(b, specs)
	host, path, method := []byte("SVC42.example.com:8080"), []byte("/v42/items/123"), []byte("GET")
	b.ReportAllocs()
	for b.Loop() {
		if tab.Match(host, path, method).Index < 0 {
			b.Fatal("no match")
		}
	}
}

// BenchmarkRewrite rewrites a clean path (the raw form is kept) and one that
// needed normalizing (rebuilt from the normalized path).
func BenchmarkRewrite(b *testing.B) {
	rw, err := NewRewrite("/shop/", "/new/")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, raw, norm string }{
		{"raw", "/shop/items/a%2Fb/42", "/shop/items/a/b/42"},
		{"rebuilt", "/shop//items/./a%20b/42", "/shop/items/a b/42"},
	} {
		b.Run(c.name, func(b *testing.B) {
			raw, norm := []byte(c.raw), []byte(c.norm)
			dst := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := rw.AppendPath(dst[:0], raw, norm); !ok {
					b.Fatal("no rewrite")
				}
			}
		})
	}
}

// BenchmarkKeepUnchanged is the check every proxied request without a
// rewrite now goes through (the path of BenchmarkHandlerPath).
func BenchmarkKeepUnchanged(b *testing.B) {
	rw := Keep("/")
	raw, norm := []byte("/products/42"), []byte("/products/42")
	b.ReportAllocs()
	for b.Loop() {
		if !rw.Unchanged(raw, norm) || Ambiguous(norm) {
			b.Fatal("changed")
		}
	}
}
