package s3blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// uploader reads a body part by part and uploads up to Concurrency parts
// while it reads the next one. It uses at most Concurrency+1 buffers.
type uploader struct {
	b        *Backend
	key      string
	uploadID string
	partSize int64
	parent   context.Context

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	parts  []minio.CompletePart
	err    error
}

// run uploads first (a full part) and the rest of body, and returns the
// parts in order. A body failure wins over part failures it provoked.
func (u *uploader) run(body *blob.Body, first *[]byte) ([]minio.CompletePart, error) {
	u.ctx, u.cancel = context.WithCancel(u.parent)
	defer u.cancel()
	free := make(chan *[]byte, u.b.conc+1)
	held := 1
	cur, n := first, len(*first)
	var readErr error
	for num := 1; ; num++ {
		if num > maxParts {
			readErr = fmt.Errorf("cannot put %s: %w: body needs more than %d parts of %d bytes", u.key, blob.ErrInvalid, maxParts, u.partSize)
			free <- cur
			break
		}
		u.wg.Add(1)
		go u.upload(num, cur, n, free)
		if n < len(*cur) {
			break // that was the short last part
		}
		var next *[]byte
		if held < u.b.conc+1 {
			next, held = u.b.getBuf(u.partSize), held+1
		} else {
			select {
			case next = <-free:
			case <-u.ctx.Done(): // a part failed; its error is reported below
			}
		}
		if next == nil {
			break
		}
		var err error
		n, err = io.ReadFull(body, *next)
		if err == io.EOF {
			free <- next
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			readErr = fmt.Errorf("cannot put %s: %w", u.key, err)
			u.cancel()
			free <- next
			break
		}
		cur = next
	}
	u.wg.Wait()
	for range len(free) {
		u.b.putBuf(<-free)
	}
	if readErr != nil {
		return nil, readErr
	}
	if u.err != nil {
		return nil, u.err
	}
	if err := u.parent.Err(); err != nil {
		return nil, fmt.Errorf("cannot put %s: %w", u.key, err) // parts may be missing
	}
	slices.SortFunc(u.parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	return u.parts, nil
}

// upload sends one part and hands its buffer back.
func (u *uploader) upload(num int, buf *[]byte, n int, free chan<- *[]byte) {
	defer u.wg.Done()
	defer func() { free <- buf }()
	if u.ctx.Err() != nil {
		return
	}
	data := (*buf)[:n]
	sum := sha256.Sum256(data)
	cctx, cancel := u.b.call(u.ctx)
	part, err := u.b.core.PutObjectPart(cctx, u.b.bucket, u.key, u.uploadID, num, bytes.NewReader(data), int64(n),
		minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), DisableContentSha256: true})
	cancel()
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		if u.err == nil {
			u.err = classify(u.parent, fmt.Sprintf("upload part %d of %s", num, u.key), err)
			u.cancel()
		}
		return
	}
	u.parts = append(u.parts, minio.CompletePart{PartNumber: num, ETag: part.ETag})
}
