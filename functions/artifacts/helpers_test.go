package artifacts_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/diskblob"
	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/gateway"
	"github.com/wharfhq/wharf/gateway/adminapi"
	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/gateway/gatewaytest"
	"github.com/wharfhq/wharf/gateway/registry"
	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/store/buntstore"
	"github.com/wharfhq/wharf/internal/tenancy"
)

// routeLimit is the push route's body limit in these tests.
const routeLimit = 64 << 20

// env is the artifacts function behind a real gateway, Mux and buntdb store.
type env struct {
	t     *testing.T
	url   string
	fn    *artifacts.Function
	be    blob.Backend
	st    store.Store
	edge  *edge.Store
	admin string
	tok   map[string]string // tokens by name: shop (team:shop), other (team:other), agent, ingest, both (team:a, team:b)
}

type envOptions struct {
	backend blob.Backend // default: a disk backend in a temp dir
	quota   int64
	now     func() time.Time
	limits  bundle.Limits // what a pushed bundle may expand to
	reserve bool          // service names reserved by the edge config and registry (as cmd/wharf wires it)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	st, err := buntstore.Open(buntstore.Options{Path: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if o.backend == nil {
		o.backend = openDisk(t, t.TempDir())
	}
	svc := auth.NewService(st)
	ctx := context.Background()
	boot, err := svc.Bootstrap(ctx, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	toks := map[string]string{}
	for name, scopes := range map[string][]string{
		"shop": {"team:shop"}, "other": {"team:other"}, "agent": {"agent"}, "ingest": {"ingest"}, "both": {"team:a", "team:b"},
	} {
		_, plain, err := svc.Create(ctx, auth.CreateRequest{Name: name, Scopes: scopes, CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = plain
	}
	// The agent token runs host h1, where shop and cart are deployed (as
	// the deploy function records it): agents read only those apps.
	hosts := tenancy.New(st, tenancy.Options{})
	if _, err := hosts.BindHost(ctx, "h1", tokenID(toks["agent"]), "127.0.0.1", nil); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"shop", "cart"} {
		if err := hosts.Place(ctx, app, "h1"); err != nil {
			t.Fatal(err)
		}
	}
	es := edge.New(st, edge.Options{})
	opts := artifacts.Options{Backend: o.backend, Store: st, Quota: o.quota, Now: o.now, OrphanGrace: time.Nanosecond, Unpack: o.limits}
	if o.reserve {
		opts.Reservations = adminapi.NewReservations(es, registry.New(st, registry.Options{}))
	}
	fn, err := artifacts.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := fnapi.NewMux(svc, nil)
	if err := mux.Register(fn); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mux.Close)
	g := gatewaytest.Start(t, gateway.Options{Edge: config.Edge{Routes: []config.RouteConfig{
		{Name: "artifacts", Path: "/api/v1/apps/", Function: "api", MaxBody: routeLimit},
	}}}, mux)
	return &env{t: t, url: "http://" + g.Addr().String(), fn: fn, be: o.backend, st: st, edge: es, admin: boot, tok: toks}
}

// tokenID is the id part of a token (wharf_<id>_<secret>).
func tokenID(tok string) string { return strings.Split(tok, "_")[1] }

// resp is an answer read to its end.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// do sends a request; body may be nil, a []byte (sent with Content-Length)
// or an io.Reader (sent chunked).
func (e *env) do(method, path, token string, body any, hdr map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	size := int64(-1)
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, size = bytes.NewReader(b), int64(len(b))
	case io.Reader:
		rd = b
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if size >= 0 {
		req.ContentLength = size
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: 2 * time.Minute}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) push(app, version, token string, bundle []byte, sha string) resp {
	e.t.Helper()
	hdr := map[string]string{}
	if sha != "" {
		hdr[artifacts.HeaderSHA256] = sha
	}
	return e.do("PUT", fmt.Sprintf("/api/v1/apps/%s/artifacts/%s", app, version), token, bundle, hdr)
}

// want checks the status and that the body contains every msg.
func want(t *testing.T, r resp, status int, msgs ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("want %d, got %s", status, r)
	}
	for _, m := range msgs {
		if !strings.Contains(string(r.body), m) {
			t.Fatalf("want %q in the answer, got %s", m, r)
		}
	}
}

func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("answer %d is not JSON: %v: %q", r.status, err, r.body)
	}
	return v
}

// nothingStored checks that a version has neither blob nor metadata.
func (e *env) nothingStored(app, version string) {
	e.t.Helper()
	ctx := context.Background()
	if info, err := e.be.Stat(ctx, "apps/"+app+"/"+version); !errors.Is(err, blob.ErrNotFound) {
		e.t.Fatalf("blob of %s %s: want not found, got %+v, %v", app, version, info, err)
	}
	if _, err := e.st.Get(ctx, "artifacts/apps/"+app+"/versions/"+version); !errors.Is(err, store.ErrNotFound) {
		e.t.Fatalf("metadata of %s %s: want not found, got %v", app, version, err)
	}
}

// makeBundle packs a directory with a manifest for app and a file of
// random (incompressible) bytes.
func makeBundle(t testing.TB, app string, randomBytes int) []byte {
	t.Helper()
	dir := t.TempDir()
	manifest := "app: " + app + "\nprocesses:\n  web: ./server --port $PORT\n"
	if err := os.WriteFile(filepath.Join(dir, "wharf.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, randomBytes)
	_, _ = rand.Read(data)
	if err := os.WriteFile(filepath.Join(dir, "server"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf, bundle.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func openDisk(t *testing.T, dir string) *diskblob.Backend {
	t.Helper()
	d, err := diskblob.New(diskblob.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// rawPut sends body on its own connection, with Content-Length or chunked,
// while reading the answer: the server may answer (and close) before it has
// read everything, which an ordinary client reports as a reset.
func (e *env) rawPut(path, token string, body []byte, chunked bool) resp {
	e.t.Helper()
	size := int64(len(body))
	if chunked {
		size = -1
	}
	return e.rawPutReader(path, token, bytes.NewReader(body), size)
}

// rawPutReader is rawPut for a body read from r, of size bytes (-1: chunked).
func (e *env) rawPutReader(path, token string, r io.Reader, size int64) resp {
	e.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	go func() {
		head := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n", path, token)
		if size >= 0 {
			_, _ = fmt.Fprintf(c, "%sContent-Length: %d\r\n\r\n", head, size)
			_, _ = io.Copy(c, r)
			return
		}
		_, _ = fmt.Fprintf(c, "%sTransfer-Encoding: chunked\r\n\r\n", head)
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := fmt.Fprintf(c, "%x\r\n%s\r\n", n, buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
		_, _ = io.WriteString(c, "0\r\n\r\n")
	}()
	var res fasthttp.Response
	if err := res.Read(bufio.NewReader(c)); err != nil {
		e.t.Fatalf("PUT %s: %v", path, err)
	}
	return resp{status: res.StatusCode(), body: append([]byte(nil), res.Body()...)}
}
