package artifacts_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/catalog"
	"github.com/wharfhq/wharf/artifacts/unpack"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/internal/testenv"
)

const base = "/api/v1/apps/shop/artifacts"

func TestPushListShowDownload(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := makeBundle(t, "shop", 3<<20)
	r := e.push("shop", "1.4.2", e.admin, b, strings.ToUpper(sum(b)))
	want(t, r, 201)
	m := decode[catalog.Meta](t, r)
	if m.SHA256 != sum(b) || m.Size != int64(len(b)) || m.App != "shop" || m.Version != "1.4.2" || m.Team != "shop" ||
		m.Uploader != "admin" || m.CreatedAt.IsZero() || m.Manifest == nil || m.Manifest.Processes["web"] == "" {
		t.Fatalf("metadata: %+v", m)
	}
	if loc := r.header.Get("Location"); loc != base+"/1.4.2" {
		t.Fatalf("Location %q", loc)
	}
	// A second version by the team's own token, without a checksum, chunked.
	b2 := makeBundle(t, "shop", 1000)
	want(t, e.push("shop", "1.5.0", e.tok["shop"], nil, ""), 400, "not a bundle")
	r = e.do("PUT", base+"/1.5.0", e.tok["shop"], bytes.NewReader(b2), nil)
	want(t, r, 201)
	if m2 := decode[catalog.Meta](t, r); m2.Uploader != "shop" || m2.SHA256 != sum(b2) {
		t.Fatalf("second push: %+v", m2)
	}

	l := decode[artifacts.ListResponse](t, e.do("GET", base, e.tok["agent"], nil, nil))
	if l.Team != "shop" || len(l.Artifacts) != 2 || l.Artifacts[0].Version != "1.5.0" || l.Artifacts[1].Version != "1.4.2" {
		t.Fatalf("list (newest first): %+v", l)
	}
	s := decode[catalog.Meta](t, e.do("GET", base+"/1.4.2", e.tok["shop"], nil, nil))
	if s.SHA256 != m.SHA256 || s.Size != m.Size {
		t.Fatalf("show: %+v", s)
	}
	for _, tok := range []string{e.admin, e.tok["shop"], e.tok["agent"]} {
		d := e.do("GET", base+"/1.4.2/download", tok, nil, nil)
		want(t, d, 200)
		if !bytes.Equal(d.body, b) || d.header.Get("X-Content-Sha256") != sum(b) || d.header.Get("Content-Length") != fmt.Sprint(len(b)) {
			t.Fatalf("download: %d bytes, sha %q, length %q", len(d.body), d.header.Get("X-Content-Sha256"), d.header.Get("Content-Length"))
		}
	}
	// The disk backend has no presigned URLs: the gateway path instead.
	u := decode[artifacts.URLResponse](t, e.do("GET", base+"/1.4.2/url", e.tok["agent"], nil, nil))
	if u.URL != base+"/1.4.2/download" || !u.NeedsToken || u.SHA256 != sum(b) || u.ExpiresAt != nil {
		t.Fatalf("url: %+v", u)
	}

	// Immutable: the same version again is 409, even with other bytes. (The
	// answer comes before the body is read and the connection is closed: a
	// client still sending megabytes may see a reset instead, which is why
	// wharf push asks first.)
	want(t, e.push("shop", "1.4.2", e.admin, b2, ""), 409, "already exists")
	want(t, e.push("shop", "1.5.0", e.tok["shop"], b2, ""), 409, "already exists")
	// Unknown versions and apps.
	want(t, e.do("GET", base+"/9.9.9", e.admin, nil, nil), 404, "9.9.9", "not found")
	want(t, e.do("GET", base+"/9.9.9/download", e.admin, nil, nil), 404)
	want(t, e.do("GET", "/api/v1/apps/nope/artifacts", e.admin, nil, nil), 404, `app \"nope\" not found`)
}

func TestNamesValidated(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := makeBundle(t, "shop", 10)
	want(t, e.push("Shop", "1.0", e.admin, b, ""), 400, "app: invalid name")
	want(t, e.push("shop", ".1", e.admin, b, ""), 400, "version: invalid version")
	want(t, e.push("shop", "1.0~x", e.admin, b, ""), 400, "version: invalid version")
	want(t, e.push("shop", strings.Repeat("1", 129), e.admin, b, ""), 400, "version:")
	want(t, e.do("GET", "/api/v1/apps/a_b/artifacts", e.admin, nil, nil), 400, "app:")
	want(t, e.push("shop", "1.0", e.admin, b, "abc"), 400, "X-Content-Sha256")
	want(t, e.push("shop", "1.0", "", b, ""), 401)
}

func TestBadChecksumKeepsNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := makeBundle(t, "shop", 1<<20)
	other := sum([]byte("something else"))
	want(t, e.push("shop", "1.0.0", e.admin, b, other), 400, "X-Content-Sha256", "checksum mismatch")
	e.nothingStored("shop", "1.0.0")
	// The version is still free.
	want(t, e.push("shop", "1.0.0", e.admin, b, sum(b)), 201)
}

// tarGz builds a gzip'd tar of the given entries in order.
func tarGz(t *testing.T, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		var body []byte
		if h.Typeflag == tar.TypeReg {
			if h.Name == "wharf.yaml" && h.Size == 0 {
				h.Size = int64(len(manifestFor("shop")))
			}
			body = []byte(manifestFor("shop"))
			if h.Name != "wharf.yaml" {
				body = bytes.Repeat([]byte("x"), int(h.Size))
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body[:h.Size]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	_ = zw.Close()
	return buf.Bytes()
}

func manifestFor(app string) string { return "app: " + app + "\nprocesses:\n  web: ./server\n" }

func reg(name string, size int64) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeReg, Size: size, Mode: 0o644}
}

func TestBadBundlesRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	var badManifest bytes.Buffer
	zw := gzip.NewWriter(&badManifest)
	tw := tar.NewWriter(zw)
	mf := "app: shop\nprocesses:\n  web: \"\"\nstop_grace: forever\nbogus: 1\n"
	_ = tw.WriteHeader(&tar.Header{Name: "wharf.yaml", Typeflag: tar.TypeReg, Size: int64(len(mf)), Mode: 0o644})
	_, _ = tw.Write([]byte(mf))
	_ = tw.Close()
	_ = zw.Close()
	zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 200)...)

	cases := []struct {
		name string
		body []byte
		msgs []string
	}{
		{"zip archive", zip, []string{"not a bundle"}},
		{"random bytes", bytes.Repeat([]byte("junk"), 10000), []string{"not a bundle"}},
		{"tar-slip without manifest", tarGz(t, reg("../../etc/cron.d/evil", 10)), []string{"invalid manifest", "no wharf.yaml"}},
		{"invalid manifest", badManifest.Bytes(), []string{"invalid manifest", "processes.web", "stop_grace", "bogus"}},
		{"other app's manifest", makeBundle(t, "cart", 100), []string{"says app", "cart"}},
		{"truncated gzip", makeBundle(t, "shop", 100)[:60], []string{"bundle"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := fmt.Sprintf("0.0.%d", i)
			want(t, e.push("shop", v, e.admin, c.body, ""), 400, c.msgs...)
			e.nothingStored("shop", v)
		})
	}
	// A bundle whose entries escape the root passes the manifest check at
	// push (only agents unpack), and safe unpack refuses it after download.
	slip := tarGz(t, reg("wharf.yaml", 0), reg("../outside", 5))
	want(t, e.push("shop", "2.0.0", e.admin, slip, ""), 201)
	d := e.do("GET", base+"/2.0.0/download", e.tok["agent"], nil, nil)
	_, err := unpack.Extract(context.Background(), bytes.NewReader(d.body), t.TempDir(), unpack.Limits{})
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("unpack of a tar-slip bundle: %v", err)
	}
}

func TestQuotaAndBodyLimit(t *testing.T) {
	b := makeBundle(t, "shop", 200<<10)
	e := newEnv(t, envOptions{quota: int64(len(b))*2 + 100})
	want(t, e.push("shop", "1", e.tok["shop"], b, ""), 201)
	want(t, e.push("shop", "2", e.tok["shop"], b, ""), 201)
	// Declared size over the quota: refused before reading; chunked: refused at the end.
	want(t, e.push("shop", "3", e.tok["shop"], b, ""), 413, "team", "shop", "quota of", "bytes exceeded")
	want(t, e.do("PUT", base+"/3", e.tok["shop"], bytes.NewReader(b), nil), 413, "quota")
	e.nothingStored("shop", "3")
	// Another team has its own quota.
	want(t, e.push("other", "1", e.tok["other"], makeBundle(t, "other", 200<<10), ""), 201)
	// Deleting frees quota.
	want(t, e.do("DELETE", base+"/1", e.tok["shop"], nil, nil), 204)
	want(t, e.push("shop", "3", e.tok["shop"], b, ""), 201)

	// Over the route's body limit: 413 naming the limit, declared or chunked.
	e2 := newEnv(t, envOptions{})
	big := makeBundle(t, "shop", routeLimit+1000)
	want(t, e2.rawPut(base+"/1", e2.admin, big, false), 413, fmt.Sprint(routeLimit))
	want(t, e2.rawPut(base+"/1", e2.admin, big, true), 413, fmt.Sprint(routeLimit))
	e2.nothingStored("shop", "1")
}

func TestConcurrentPushesOfOneVersion(t *testing.T) {
	e := newEnv(t, envOptions{})
	const n = 8
	bundles := make([][]byte, n)
	for i := range bundles {
		bundles[i] = makeBundle(t, "shop", 2<<20)
	}
	var created, conflicts atomic.Int32
	var wg sync.WaitGroup
	var winner atomic.Value
	for i := range n {
		wg.Go(func() {
			r := e.push("shop", "1.0.0", e.admin, bundles[i], sum(bundles[i]))
			switch r.status {
			case 201:
				created.Add(1)
				winner.Store(bundles[i])
			case 409:
				conflicts.Add(1)
			default:
				t.Errorf("push %d: %s", i, r)
			}
		})
	}
	wg.Wait()
	if created.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("%d created, %d conflicts; want 1 and %d", created.Load(), conflicts.Load(), n-1)
	}
	d := e.do("GET", base+"/1.0.0/download", e.admin, nil, nil)
	if !bytes.Equal(d.body, winner.Load().([]byte)) {
		t.Fatal("the stored bundle is not the winner's")
	}
}

func TestTeamsAndScopes(t *testing.T) {
	e := newEnv(t, envOptions{})
	shop := makeBundle(t, "shop", 100)
	// A team token claims its own app; other teams cannot touch it.
	want(t, e.push("shop", "1", e.tok["shop"], shop, ""), 201)
	// (another team's app answers like a missing one: see tenancy_test.go)
	want(t, e.push("shop", "2", e.tok["other"], shop, ""), 409, "another team")
	want(t, e.do("GET", base, e.tok["other"], nil, nil), 404)
	want(t, e.do("GET", base+"/1/download", e.tok["other"], nil, nil), 404)
	want(t, e.do("DELETE", base+"/1", e.tok["other"], nil, nil), 404)
	// Agents read, never write.
	want(t, e.do("GET", base+"/1", e.tok["agent"], nil, nil), 200)
	want(t, e.push("shop", "2", e.tok["agent"], shop, ""), 403)
	want(t, e.do("DELETE", base+"/1", e.tok["agent"], nil, nil), 403)
	// A team's first push of an app named otherwise claims it for the team.
	cart := makeBundle(t, "cart", 100)
	r := e.push("cart", "1", e.tok["shop"], cart, "")
	want(t, r, 201)
	if m := decode[catalog.Meta](t, r); m.Team != "shop" {
		t.Fatalf("cart claimed for %q", m.Team)
	}
	want(t, e.do("GET", "/api/v1/apps/cart/artifacts", e.tok["shop"], nil, nil), 200)
	// A token of several teams cannot decide which team a new app is for.
	want(t, e.push("multi", "1", e.tok["both"], makeBundle(t, "multi", 10), ""), 403, "several teams")
	// An admin push claims the app for the team named like it.
	r = e.push("other", "1", e.admin, makeBundle(t, "other", 10), "")
	want(t, r, 201)
	want(t, e.do("GET", "/api/v1/apps/other/artifacts", e.tok["other"], nil, nil), 200, `"team":"other"`)
	// Only admin may collect garbage.
	want(t, e.do("POST", "/api/v1/artifacts/gc", e.tok["shop"], nil, nil), 403)
}

func TestDeleteRefusedWhileLive(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := makeBundle(t, "shop", 100)
	want(t, e.push("shop", "1", e.admin, b, ""), 201)
	ctx := context.Background()
	if _, err := e.st.Put(ctx, catalog.LiveKey("shop"), catalog.LiveValue("1"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	want(t, e.do("DELETE", base+"/1", e.tok["shop"], nil, nil), 409, "in use")
	if _, err := e.st.Put(ctx, catalog.LiveKey("shop"), []byte(`["2"]`), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	want(t, e.do("DELETE", base+"/1", e.tok["shop"], nil, nil), 204)
	e.nothingStored("shop", "1")
	want(t, e.do("DELETE", base+"/1", e.tok["shop"], nil, nil), 404)
	// The version can be pushed again once deleted.
	want(t, e.push("shop", "1", e.admin, b, ""), 201)
}

func TestRetainAndGC(t *testing.T) {
	var clock atomic.Int64
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(clock.Load())) }
	e := newEnv(t, envOptions{now: now})
	for i := 1; i <= 5; i++ {
		clock.Store(int64(i) * int64(time.Hour))
		want(t, e.push("shop", fmt.Sprint(i), e.admin, makeBundle(t, "shop", 100), ""), 201)
	}
	ctx := context.Background()
	_, _ = e.st.Put(ctx, catalog.LiveKey("shop"), catalog.LiveValue("1"), store.PutOptions{})
	// An orphan: a blob without metadata (a push whose metadata write failed).
	if _, err := e.be.Put(ctx, "apps/shop/orphan", strings.NewReader("x"), 1, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Store(int64(time.Since(start) + time.Hour)) // the orphan is old enough
	r := e.do("POST", "/api/v1/artifacts/gc?keep_last=2", e.admin, nil, nil)
	want(t, r, 200)
	got := decode[artifacts.GCResponse](t, r)
	if got.Retain == nil || strings.Join(got.Retain.Deleted, ",") != "shop/3,shop/2" {
		t.Fatalf("retain: %+v", got.Retain)
	}
	if strings.Join(got.GC.Orphans, ",") != "apps/shop/orphan" {
		t.Fatalf("gc: %+v", got.GC)
	}
	l := decode[artifacts.ListResponse](t, e.do("GET", base, e.admin, nil, nil))
	var vs []string
	for _, m := range l.Artifacts {
		vs = append(vs, m.Version)
	}
	if strings.Join(vs, ",") != "5,4,1" {
		t.Fatalf("kept %v, want the two newest and the live one", vs)
	}
	e.nothingStored("shop", "2")
	want(t, e.do("POST", "/api/v1/artifacts/gc?keep_last=0", e.admin, nil, nil), 400, "keep_last")
	// Nothing left to collect.
	if res, err := e.fn.GC(ctx); err != nil || len(res.Orphans) != 0 {
		t.Fatalf("second GC: %+v, %v", res, err)
	}
}

// A client that goes away mid-upload leaves nothing behind.
func TestClientDisconnectKeepsNothing(t *testing.T) {
	dir := t.TempDir()
	be := openDisk(t, dir) // keep the directory to look for leftovers
	e := newEnv(t, envOptions{backend: be})
	b := makeBundle(t, "shop", 4<<20)
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "PUT %s/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", base, e.admin, len(b))
	if _, err := c.Write(b[:len(b)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	_ = c.Close()
	testenv.Eventually(t, 10*time.Second, func() error {
		var files []string
		_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) != 0 {
			return fmt.Errorf("files left: %v", files)
		}
		return nil
	})
	e.nothingStored("shop", "1")
	want(t, e.push("shop", "1", e.admin, b, sum(b)), 201)
}
