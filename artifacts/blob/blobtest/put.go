package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/wharfhq/wharf/artifacts/blob"
)

func testCreateOnly(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	first := mustPut(t, b, "v/1", []byte("first"))
	for _, size := range []int64{6, -1} {
		info, err := b.Put(ctx, "v/1", strings.NewReader("second"), size, blob.PutOptions{})
		if !errors.Is(err, blob.ErrExists) {
			t.Fatalf("second Put (size %d): want ErrExists, got %v (%+v)", size, err, info)
		}
	}
	data, info := readAll(t, b, "v/1")
	if string(data) != "first" || info.SHA256 != first.SHA256 {
		t.Fatalf("after refused re-put: got %q %+v", data, info)
	}
}

func testConcurrentPuts(t *testing.T, b blob.Backend, size int) {
	ctx := testCtx(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	infos := make([]blob.Info, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := NewPattern(byte(10+i), int64(size))
			infos[i], errs[i] = b.Put(ctx, "race", body, int64(size), blob.PutOptions{})
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("Puts %d and %d of the same key both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, blob.ErrExists):
		default:
			t.Fatalf("Put %d: want success or ErrExists, got %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no Put won: %v", errs)
	}
	data, info := readAll(t, b, "race")
	if got := sum(data); got != infos[winner].SHA256 || info.Size != int64(size) {
		t.Fatalf("stored blob (sha %s, %d bytes) is not the winner's (%s)", got, info.Size, infos[winner].SHA256)
	}
	if !bytes.Equal(data, PatternBytes(byte(10+winner), size)) {
		t.Fatal("stored bytes are not the winner's body")
	}
	n2, err := b.CleanupIncomplete(ctx, 0)
	if err != nil || n2 != 0 {
		t.Fatalf("losing Puts left %d leftovers (%v)", n2, err)
	}
	page, err := b.List(ctx, "", blob.ListOptions{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("List after the race: %+v, %v", page.Items, err)
	}
}

func testChecksum(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	wrong := strings.Repeat("ab", 32)
	for _, size := range []int{0, 100, LargeSize} {
		for _, known := range []bool{true, false} {
			body := NewPattern(3, int64(size))
			decl := int64(size)
			if !known {
				decl = -1
			}
			info, err := b.Put(ctx, "sum", body, decl, blob.PutOptions{ExpectSHA256: wrong})
			if !errors.Is(err, blob.ErrChecksum) {
				t.Fatalf("Put %d bytes (known size %v) with a wrong checksum: want ErrChecksum, got %v", size, known, err)
			}
			if info.SHA256 != body.SHA256() || info.Size != int64(size) {
				t.Fatalf("failed Put's Info %+v, want the body's size %d and SHA-256 %s", info, size, body.SHA256())
			}
			assertNothingKept(t, b, "sum")
		}
	}
}

func testChecksumMatch(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	for i, size := range []int{100, LargeSize} {
		data := PatternBytes(4, size)
		key := fmt.Sprintf("ok/%d", i)
		info, err := b.Put(ctx, key, onlyReader{bytes.NewReader(data)}, -1, blob.PutOptions{ExpectSHA256: strings.ToUpper(sum(data))})
		if err != nil {
			t.Fatalf("Put with the right checksum: %v", err)
		}
		if info.SHA256 != sum(data) {
			t.Fatalf("Put: SHA-256 %s, want %s", info.SHA256, sum(data))
		}
		st, err := b.Stat(ctx, key)
		if err != nil || st.SHA256 != sum(data) || st.Size != int64(size) {
			t.Fatalf("Stat after a verified Put: %+v, %v (a given checksum is always recorded)", st, err)
		}
	}
}

func testFailingBody(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	boom := errors.New("client went away")
	for _, at := range []int64{0, 1000, LargeSize + 1000} {
		for _, size := range []int64{at + 5000, -1} {
			_, err := b.Put(ctx, "broken", NewFailing(at, boom), size, blob.PutOptions{})
			var re *blob.ReadError
			if !errors.As(err, &re) || !errors.Is(err, boom) {
				t.Fatalf("Put failing after %d bytes (size %d): want *ReadError wrapping the reader's error, got %v", at, size, err)
			}
			if errors.Is(err, blob.ErrUnavailable) {
				t.Fatalf("a body failure was classified as the backend's: %v", err)
			}
			assertNothingKept(t, b, "broken")
		}
	}
}

func testWrongSize(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	for _, n := range []int64{10, LargeSize} {
		// Shorter than declared.
		_, err := b.Put(ctx, "size", NewPattern(1, n), n+1, blob.PutOptions{})
		var re *blob.ReadError
		if !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("body of %d bytes declared %d: want *ReadError with io.ErrUnexpectedEOF, got %v", n, n+1, err)
		}
		assertNothingKept(t, b, "size")
		// Longer than declared.
		_, err = b.Put(ctx, "size", NewPattern(1, n+1), n, blob.PutOptions{})
		if !errors.As(err, &re) || !errors.Is(err, blob.ErrBodyTooLong) {
			t.Fatalf("body of %d bytes declared %d: want *ReadError with ErrBodyTooLong, got %v", n+1, n, err)
		}
		assertNothingKept(t, b, "size")
	}
}

// cancelAfter cancels a context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n -= int64(k)
	if c.n <= 0 {
		c.cancel()
	}
	return k, err
}

func testCanceled(t *testing.T, b blob.Backend) {
	for _, at := range []int64{100, LargeSize + 100} {
		ctx, cancel := context.WithCancel(testCtx(t))
		body := &cancelAfter{r: NewPattern(2, 2*LargeSize), n: at, cancel: cancel}
		_, err := b.Put(ctx, "cancel", body, -1, blob.PutOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put canceled after %d bytes: want context.Canceled, got %v", at, err)
		}
		assertNothingKept(t, b, "cancel")
	}
}

func testBeforeCommit(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	veto := errors.New("quota exceeded")
	for _, size := range []int{10, LargeSize} {
		data := PatternBytes(6, size)
		var seen blob.Info
		_, err := b.Put(ctx, "hook", bytes.NewReader(data), -1, blob.PutOptions{BeforeCommit: func(i blob.Info) error {
			seen = i
			return veto
		}})
		if !errors.Is(err, veto) {
			t.Fatalf("Put vetoed by BeforeCommit: want its error, got %v", err)
		}
		if seen.Key != "hook" || seen.Size != int64(size) || seen.SHA256 != sum(data) {
			t.Fatalf("BeforeCommit saw %+v, want the whole body's size %d and SHA-256", seen, size)
		}
		assertNothingKept(t, b, "hook")
	}
	calls := 0
	if _, err := b.Put(ctx, "hook", strings.NewReader("ok"), 2, blob.PutOptions{BeforeCommit: func(blob.Info) error {
		calls++
		return nil
	}}); err != nil || calls != 1 {
		t.Fatalf("Put with an approving BeforeCommit: %v, %d calls", err, calls)
	}
}

// testStreamed puts a body of n bytes that exists only as a stream and
// checks that Put's allocations stay far below the body's size.
func testStreamed(t *testing.T, b blob.Backend, n, declared int64) {
	ctx := testCtx(t)
	body := NewPattern(8, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	info, err := b.Put(ctx, "big/blob", onlyReader{body}, declared, blob.PutOptions{})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Put %d bytes: %v", n, err)
	}
	if info.Size != n || info.SHA256 != body.SHA256() {
		t.Fatalf("Put: %+v, want %d bytes with SHA-256 %s", info, n, body.SHA256())
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("Put of %d MiB allocated %.1f MiB in total", n>>20, float64(alloc)/(1<<20))
	if limit := uint64(n) / 2; alloc > limit {
		t.Fatalf("Put of %d bytes allocated %d bytes (limit %d): the body is being held in memory", n, alloc, limit)
	}
	rc, gi, err := b.Get(ctx, "big/blob")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	check := NewPattern(8, n)
	want := make([]byte, 256<<10)
	got := make([]byte, 256<<10)
	var off int64
	for {
		k, err := io.ReadFull(rc, got)
		if k > 0 {
			if _, err := io.ReadFull(check, want[:k]); err != nil {
				t.Fatalf("blob is longer than the %d bytes put", n)
			}
			if !bytes.Equal(got[:k], want[:k]) {
				t.Fatalf("blob differs from the body within bytes %d to %d", off, off+int64(k))
			}
			off += int64(k)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the blob at %d: %v", off, err)
		}
	}
	if off != n || gi.Size != n {
		t.Fatalf("read %d bytes (Info says %d), want %d", off, gi.Size, n)
	}
}
