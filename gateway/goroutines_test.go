package gateway_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// gatewayGoroutines returns the stacks of the goroutines running the
// gateway's code (or store followers it started), by goroutine header
// ("goroutine 7 [select]:"), leaving out the tests' own and the server's
// per-connection ones (a test client's idle keep-alive connection).
func gatewayGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "wharf/gateway_test.") || strings.Contains(g, "fasthttp.(*workerPool)") {
			continue
		}
		if !strings.Contains(g, "wharfhq/wharf/gateway") && !strings.Contains(g, "wharfhq/wharf/internal/store/mirror") {
			continue
		}
		id, _, _ := strings.Cut(g, " [")
		out[id] = g
	}
	return out
}

// newGoroutines returns the stacks in after whose goroutine was not in before.
func newGoroutines(before, after map[string]string) []string {
	var extra []string
	for id, g := range after {
		if _, ok := before[id]; !ok {
			extra = append(extra, g)
		}
	}
	return extra
}

// memStore is an in-memory store closed at the end of the test.
func memStore(t *testing.T) store.Store {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
