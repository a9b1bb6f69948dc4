// Package blobtest is the conformance suite every blob.Backend must pass.
// A backend's tests call Run with a function that opens a fresh, empty
// backend (an empty directory, a new bucket).
package blobtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// Body sizes the suite uses. LargeSize is above S3's 5 MiB minimum part and
// the S3 backend's default 8 MiB part, so it takes the multipart path there.
const (
	LargeSize    = 12 << 20
	StreamedSize = 64 << 20
)

// Run runs the conformance suite against the backends newBackend opens. Each
// subtest gets its own backend; newBackend closes it in t.Cleanup. The
// heaviest subtests (64 MiB bodies, concurrent large bodies) are skipped
// with -short.
func Run(t *testing.T, newBackend func(t *testing.T) blob.Backend) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newBackend(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalid(t, newBackend(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newBackend(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newBackend(t)) })
	t.Run("ListOrderAndPrefixes", func(t *testing.T) { testList(t, newBackend(t)) })
	t.Run("ListPagination", func(t *testing.T) { testListPages(t, newBackend(t)) })
	t.Run("CreateOnly", func(t *testing.T) { testCreateOnly(t, newBackend(t)) })
	t.Run("ConcurrentPutsOneWins", func(t *testing.T) { testConcurrentPuts(t, newBackend(t), 4<<10) })
	t.Run("ConcurrentLargePutsOneWins", func(t *testing.T) {
		skipShort(t)
		testConcurrentPuts(t, newBackend(t), LargeSize)
	})
	t.Run("ChecksumMismatchKeepsNothing", func(t *testing.T) { testChecksum(t, newBackend(t)) })
	t.Run("ChecksumMatch", func(t *testing.T) { testChecksumMatch(t, newBackend(t)) })
	t.Run("FailingBodyKeepsNothing", func(t *testing.T) { testFailingBody(t, newBackend(t)) })
	t.Run("WrongSizeKeepsNothing", func(t *testing.T) { testWrongSize(t, newBackend(t)) })
	t.Run("CanceledKeepsNothing", func(t *testing.T) { testCanceled(t, newBackend(t)) })
	t.Run("BeforeCommit", func(t *testing.T) { testBeforeCommit(t, newBackend(t)) })
	t.Run("StreamedLargeBody", func(t *testing.T) {
		skipShort(t)
		testStreamed(t, newBackend(t), StreamedSize, StreamedSize)
	})
	t.Run("StreamedUnknownSize", func(t *testing.T) {
		skipShort(t)
		testStreamed(t, newBackend(t), StreamedSize+123, -1)
	})
	t.Run("Presign", func(t *testing.T) { testPresign(t, newBackend(t)) })
	t.Run("CleanupIncompleteEmpty", func(t *testing.T) { testCleanupEmpty(t, newBackend(t)) })
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies skipped with -short")
	}
}

// testCtx returns a context that ends with the test or after two minutes.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Pattern is a reader of n deterministic pseudo-random bytes that hashes
// what it hands out; it allocates nothing per Read.
type Pattern struct {
	rng  *rand.ChaCha8
	left int64
	h    hash.Hash
}

// NewPattern returns n bytes derived from seed.
func NewPattern(seed byte, n int64) *Pattern {
	var s [32]byte
	s[0] = seed
	return &Pattern{rng: rand.NewChaCha8(s), left: n, h: sha256.New()}
}

// Read implements io.Reader.
func (p *Pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	n, _ := p.rng.Read(b)
	p.h.Write(b[:n])
	p.left -= int64(n)
	return n, nil
}

// SHA256 is the hex SHA-256 of the bytes read so far.
func (p *Pattern) SHA256() string { return hex.EncodeToString(p.h.Sum(nil)) }

// PatternBytes returns the n bytes NewPattern(seed, n) yields.
func PatternBytes(seed byte, n int) []byte {
	b := make([]byte, n)
	_, _ = io.ReadFull(NewPattern(seed, int64(n)), b)
	return b
}

// Failing yields n bytes of a pattern and then err.
type Failing struct {
	r   io.Reader
	err error
}

// NewFailing returns a reader of n pattern bytes that then fails with err.
func NewFailing(n int64, err error) *Failing {
	return &Failing{r: io.LimitReader(NewPattern(9, n), n), err: err}
}

// Read implements io.Reader.
func (f *Failing) Read(b []byte) (int, error) {
	n, err := f.r.Read(b)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// sum returns the hex SHA-256 of b.
func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readAll reads a blob through Get and checks Get's Info.
func readAll(t *testing.T, b blob.Backend, key string) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := b.Get(testCtx(t), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	if info.Key != key || info.Size != int64(len(data)) {
		t.Fatalf("Get %s: Info %+v, read %d bytes", key, info, len(data))
	}
	return data, info
}

// mustPut stores data under key.
func mustPut(t *testing.T, b blob.Backend, key string, data []byte) blob.Info {
	t.Helper()
	info, err := b.Put(testCtx(t), key, bytesReader(data), int64(len(data)), blob.PutOptions{})
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return info
}

// assertNothingKept checks that key does not exist, that nothing at all is
// listed, and that no leftover of a Put awaits CleanupIncomplete.
func assertNothingKept(t *testing.T, b blob.Backend, key string) {
	t.Helper()
	ctx := testCtx(t)
	if _, err := b.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat %s after failed Put: want ErrNotFound, got %v", key, err)
	}
	page, err := b.List(ctx, "", blob.ListOptions{})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page.Items) != 0 {
		t.Fatalf("List after failed Put: want nothing, got %+v", page.Items)
	}
	n, err := b.CleanupIncomplete(ctx, 0)
	if err != nil {
		t.Fatalf("CleanupIncomplete: %v", err)
	}
	if n != 0 {
		t.Fatalf("failed Put left %d incomplete uploads or temporary files behind", n)
	}
}
