package gateway_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/store/buntstore"
)

// TestFragmentCannotReachAnotherRoute: /admin/ is closed to this client by a
// route ACL; /public/ is open. Both go to one upstream, a plain Go
// http.FileServer, which reads a '#' in the target as part of the path. A
// request for "/public/x#/../../admin/secret" is routed and ACL-checked as
// /public/x: the upstream must get /public/x, not the fragment (forwarded
// in place with it, the file server cleaned it to /admin/secret and
// answered the secret).
func TestFragmentCannotReachAnotherRoute(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"public", "admin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "public", "x"), []byte("public"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "admin", "secret"), []byte("ADMIN-SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 8)
	fs := http.FileServer(http.Dir(root))
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.RequestURI
		fs.ServeHTTP(w, r)
	})}
	go func() { _ = up.Serve(ln) }()
	t.Cleanup(func() { _ = up.Close() })

	e := config.Edge{
		Services: []config.ServiceConfig{{Name: "app", Instances: []config.InstanceConfig{{Addr: ln.Addr().String()}}}},
		Routes: []config.RouteConfig{
			{Name: "public", Path: "/public/", Service: "app"},
			{Name: "admin", Path: "/admin/", Service: "app", ACL: config.ACLConfig{Deny: []string{"127.0.0.1"}}},
		},
	}
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := edge.New(st, edge.Options{}).Seed(context.Background(), e, "test"); err != nil {
		t.Fatal(err)
	}
	g := gatewaytest.Start(t, gateway.Options{Store: st, Edge: e}, nil)
	addr := g.Addr().String()

	send := func(target string) (string, string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: shop.example.com\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(bufio.NewReader(c))
		status, _, _ := strings.Cut(string(b), "\r\n")
		return status, string(b)
	}
	if status, _ := send("/admin/secret"); !strings.Contains(status, " 403 ") {
		t.Fatalf("/admin/secret: %q, want 403 (route ACL)", status)
	}
	status, resp := send("/public/x#/../../admin/secret")
	if strings.Contains(resp, "ADMIN-SECRET") {
		t.Errorf("the route ACL of /admin/ was bypassed: %q", resp)
	}
	if u := <-got; u != "/public/x" || !strings.Contains(status, " 200 ") {
		t.Errorf("upstream request target %q, client got %q; want /public/x answered", u, status)
	}
}
