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
