package artifacts_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/s3blob"
	"github.com/wharfhq/wharf/functions/artifacts"
	"github.com/wharfhq/wharf/internal/testenv"
)

var bucketSeq atomic.Int64

// openS3 is the MinIO backend with small parts (so multipart paths run)
// and few retries (so failures show quickly).
func openS3(t *testing.T, m *testenv.MinIO) *s3blob.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := s3blob.New(ctx, s3blob.Options{
		Endpoint: m.Addr, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
		Bucket:   fmt.Sprintf("wharf-fn-%d-%d", time.Now().UnixNano()%1e9, bucketSeq.Add(1)),
		PartSize: s3blob.MinPartSize, Concurrency: 2, MaxRetries: 1, RequestTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMinIOPushDownloadAndRaces(t *testing.T) {
	m := testenv.StartMinIO(t)
	e := newEnv(t, envOptions{backend: openS3(t, m)})
	b := makeBundle(t, "shop", 12<<20) // three parts
	want(t, e.push("shop", "1.0.0", e.tok["shop"], b, sum(b)), 201)
	d := e.do("GET", base+"/1.0.0/download", e.tok["agent"], nil, nil)
	if d.status != 200 || !bytes.Equal(d.body, b) || d.header.Get("X-Content-Sha256") != sum(b) {
		t.Fatalf("download: %d, %d bytes", d.status, len(d.body))
	}
	// Agents get a presigned URL that needs no token.
	u := decode[artifacts.URLResponse](t, e.do("GET", base+"/1.0.0/url", e.tok["agent"], nil, nil))
	if u.NeedsToken || u.ExpiresAt == nil || u.ExpiresAt.Before(time.Now()) {
		t.Fatalf("url: %+v", u)
	}
	res, err := http.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !bytes.Equal(got, b) {
		t.Fatalf("presigned GET: %d, %d bytes", res.StatusCode, len(got))
	}
	want(t, e.push("shop", "1.0.0", e.tok["shop"], makeBundle(t, "shop", 10), ""), 409)
	e.nothingStored("shop", "bad")
	want(t, e.push("shop", "bad", e.tok["shop"], b, sum([]byte("x"))), 400, "checksum")
	e.nothingStored("shop", "bad")

	// Concurrent pushes of one version, each large enough for multipart.
	const n = 4
	var created, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		body := makeBundle(t, "shop", 6<<20)
		wg.Go(func() {
			r := e.rawPut(base+"/2.0.0", e.admin, body, i%2 == 1)
			switch r.status {
			case 201:
				created.Add(1)
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
}

// gate passes n bytes, then closes reached and waits for release.
type gate struct {
	r       io.Reader
	n       int
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gate) Read(p []byte) (int, error) {
	if g.n <= 0 {
		g.once.Do(func() { close(g.reached) })
		<-g.release
		return g.r.Read(p)
	}
	p = p[:min(len(p), g.n)]
	k, err := g.r.Read(p)
	g.n -= k
	return k, err
}

// MinIO dies in the middle of a push: 503, and once it is back nothing of
// the push is visible and the version can be pushed again.
func TestMinIOKilledMidUpload(t *testing.T) {
	m := testenv.StartMinIO(t)
	be := openS3(t, m)
	e := newEnv(t, envOptions{backend: be})
	b := makeBundle(t, "shop", 40<<20)
	g := &gate{r: bytes.NewReader(b), n: 16 << 20, reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan resp, 1)
	go func() { done <- e.rawPutReader(base+"/1.0.0", e.admin, g, int64(len(b))) }()
	select {
	case <-g.reached:
	case r := <-done:
		t.Fatalf("push ended early: %s", r)
	case <-time.After(time.Minute):
		t.Fatal("push did not get going")
	}
	time.Sleep(500 * time.Millisecond) // let parts reach MinIO
	m.Kill()
	close(g.release)
	var r resp
	select {
	case r = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("push did not fail after MinIO died")
	}
	want(t, r, 503, "storage unavailable")

	m.Start()
	e.nothingStored("shop", "1.0.0")
	page, err := be.List(context.Background(), "", blob.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("blobs after restart: %+v, %v", page.Items, err)
	}
	if _, err := be.CleanupIncomplete(context.Background(), 0); err != nil {
		t.Fatalf("CleanupIncomplete: %v", err)
	}
	want(t, e.push("shop", "1.0.0", e.admin, b, sum(b)), 201)
}
