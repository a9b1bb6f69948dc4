package s3blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/blobtest"
	"github.com/wharfhq/wharf/internal/testenv"
)

var bucketSeq atomic.Int64

// testOptions are small parts and few retries, so multipart paths and
// failures show quickly.
func testOptions(m *testenv.MinIO) Options {
	return Options{
		Endpoint: m.Addr, AccessKey: m.AccessKey, SecretKey: m.SecretKey,
		Bucket:   fmt.Sprintf("wharf-test-%d-%d", time.Now().UnixNano()%1e9, bucketSeq.Add(1)),
		PartSize: MinPartSize, Concurrency: 2, MaxRetries: 2, RequestTimeout: 30 * time.Second,
	}
}

func open(t *testing.T, opts Options) *Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	m := testenv.StartMinIO(t)
	blobtest.Run(t, func(t *testing.T) blob.Backend { return open(t, testOptions(m)) })
}

// The create-only guarantee rests on the server evaluating If-None-Match: *
// for PutObject and for CompleteMultipartUpload; check that this MinIO does.
func TestServerHonoursIfNoneMatch(t *testing.T) {
	m := testenv.StartMinIO(t)
	b := open(t, testOptions(m))
	ctx := t.Context()
	if _, err := b.Put(ctx, "k", strings.NewReader("one"), 3, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var opts minio.PutObjectOptions
	opts.SetMatchETagExcept("*")
	_, err := b.core.PutObject(ctx, b.bucket, "k", strings.NewReader("two"), 3, "", "", opts)
	if !isPreconditionFailed(err) {
		t.Fatalf("conditional PutObject over an existing object: want 412, got %v", err)
	}
	id, err := b.core.NewMultipartUpload(ctx, b.bucket, "k", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part, err := b.core.PutObjectPart(ctx, b.bucket, "k", id, 1, strings.NewReader("three"), 5, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.core.CompleteMultipartUpload(ctx, b.bucket, "k", id, []minio.CompletePart{{PartNumber: 1, ETag: part.ETag}}, opts)
	if !isPreconditionFailed(err) {
		t.Fatalf("conditional CompleteMultipartUpload over an existing object: want 412, got %v", err)
	}
	_ = b.core.AbortMultipartUpload(ctx, b.bucket, "k", id)
	rc, _, err := b.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); string(got) != "one" {
		t.Fatalf("object was replaced: %q", got)
	}
}

// gate passes n bytes of body, then tells reached and waits for release.
type gate struct {
	r       io.Reader
	n       int64
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
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	k, err := g.r.Read(p)
	g.n -= int64(k)
	return k, err
}

// MinIO dies in the middle of a multipart upload: Put reports the backend
// unavailable, nothing is visible after MinIO comes back, and
// CleanupIncomplete removes the abandoned upload.
func TestMinIOKilledMidUpload(t *testing.T) {
	m := testenv.StartMinIO(t)
	b := open(t, testOptions(m))
	const key = "apps/shop/1.0.0"
	g := &gate{r: blobtest.NewPattern(1, 40<<20), n: 3*MinPartSize + 1000, reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.Put(context.Background(), key, g, 40<<20, blob.PutOptions{})
		done <- err
	}()
	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("Put ended early: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("upload did not get going")
	}
	// At least one part is uploaded; kill the server while Put goes on.
	testenv.Eventually(t, 10*time.Second, func() error {
		ids, err := uploadsOf(t.Context(), b, key)
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("no upload in progress yet (%v)", err)
		}
		return nil
	})
	m.Kill()
	close(g.release)
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("Put did not fail after MinIO died")
	}
	var re *blob.ReadError
	if !errors.Is(err, blob.ErrUnavailable) || errors.As(err, &re) {
		t.Fatalf("Put with MinIO killed: want ErrUnavailable (not a body error), got %v", err)
	}
	t.Logf("Put failed as expected: %v", err)

	m.Start()
	ctx := t.Context()
	if _, err := b.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after restart: want ErrNotFound, got %v", err)
	}
	page, err := b.List(ctx, "", blob.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("List after restart: %+v, %v", page.Items, err)
	}
	// Leftovers younger than the cutoff are kept: they may be running.
	if n, err := b.CleanupIncomplete(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("CleanupIncomplete(1h): %d, %v; want 0", n, err)
	}
	n, err := b.CleanupIncomplete(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("CleanupIncomplete: %d, %v; want the one abandoned Put", n, err)
	}
	if ids, err := uploadsOf(ctx, b, key); err != nil || len(ids) != 0 {
		t.Fatalf("incomplete uploads after cleanup: %v, %v", ids, err)
	}
	if n, err := b.CleanupIncomplete(ctx, 0); err != nil || n != 0 {
		t.Fatalf("second CleanupIncomplete: %d, %v", n, err)
	}
	// The key is free again.
	if _, err := b.Put(ctx, key, strings.NewReader("retry"), 5, blob.PutOptions{}); err != nil {
		t.Fatalf("Put after recovery: %v", err)
	}
}

// With MinIO down, every call fails fast as ErrUnavailable.
func TestMinIODown(t *testing.T) {
	m := testenv.StartMinIO(t)
	b := open(t, testOptions(m))
	m.Kill()
	ctx := t.Context()
	checks := map[string]error{}
	_, checks["Put"] = b.Put(ctx, "k", strings.NewReader("x"), 1, blob.PutOptions{})
	_, checks["Stat"] = b.Stat(ctx, "k")
	_, _, checks["Get"] = b.Get(ctx, "k")
	checks["Delete"] = b.Delete(ctx, "k")
	_, checks["List"] = b.List(ctx, "", blob.ListOptions{})
	_, checks["CleanupIncomplete"] = b.CleanupIncomplete(ctx, 0)
	for op, err := range checks {
		if !errors.Is(err, blob.ErrUnavailable) {
			t.Errorf("%s with MinIO down: want ErrUnavailable, got %v", op, err)
		}
	}
	if _, err := New(ctx, testOptions(m)); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("New with MinIO down: want ErrUnavailable, got %v", err)
	}
}

// loseAnswer performs the first request that match says and then pretends
// the connection broke before the answer came, so minio-go retries it.
type loseAnswer struct {
	rt    http.RoundTripper
	match func(*http.Request) bool
	lost  atomic.Int32
}

func (l *loseAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	if err == nil && l.match(req) && l.lost.Add(1) == 1 {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (simulated: answer lost)")
	}
	return resp, err
}

// When the answer to the conditional write is lost and minio-go retries it,
// the retry meets our own object and gets 412: Put must still succeed.
func TestLostCommitAnswerIsOurs(t *testing.T) {
	m := testenv.StartMinIO(t)
	cases := map[string]struct {
		size  int
		match func(*http.Request) bool
	}{
		"single PUT": {100, func(r *http.Request) bool {
			return r.Method == http.MethodPut && r.Header.Get("If-None-Match") == "*"
		}},
		"multipart complete": {2*MinPartSize + 7, func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			opts := testOptions(m)
			lose := &loseAnswer{rt: http.DefaultTransport.(*http.Transport).Clone(), match: c.match}
			opts.Transport = lose
			b := open(t, opts)
			data := blobtest.PatternBytes(3, c.size)
			info, err := b.Put(t.Context(), "k", bytes.NewReader(data), int64(c.size), blob.PutOptions{})
			if err != nil {
				t.Fatalf("Put whose answer was lost once: %v", err)
			}
			if lose.lost.Load() < 2 {
				t.Fatalf("the write was not retried (%d matching requests)", lose.lost.Load())
			}
			if info.Size != int64(c.size) {
				t.Fatalf("Info %+v", info)
			}
			// A genuinely different writer still loses.
			if _, err := b.Put(t.Context(), "k", bytes.NewReader(data), int64(c.size), blob.PutOptions{}); !errors.Is(err, blob.ErrExists) {
				t.Fatalf("second Put: want ErrExists, got %v", err)
			}
			if n, err := b.CleanupIncomplete(t.Context(), 0); err != nil || n != 0 {
				t.Fatalf("leftovers: %d, %v", n, err)
			}
		})
	}
}

// uploadsOf lists key's incomplete multipart uploads.
func uploadsOf(ctx context.Context, b *Backend, key string) ([]string, error) {
	res, err := b.core.ListMultipartUploads(ctx, b.bucket, key, "", "", "", 1000)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, up := range res.Uploads {
		if up.Key == key {
			ids = append(ids, up.UploadID)
		}
	}
	return ids, nil
}
