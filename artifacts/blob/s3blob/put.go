package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// maxObjectSize is S3's largest object.
const maxObjectSize = 5 << 40

// Put implements blob.Backend; see the package comment for how it stays
// create-only and all-or-nothing. When it fails after reading the whole body
// (checksum, BeforeCommit, a lost race) the Info still has Size and SHA256.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64, opts blob.PutOptions) (blob.Info, error) {
	opts, err := blob.PreparePut(key, size, opts)
	if err != nil {
		return blob.Info{}, fmt.Errorf("cannot put blob: %w", err)
	}
	if size > maxObjectSize {
		return blob.Info{}, fmt.Errorf("cannot put %s: %w: %d bytes is more than S3 stores in one object", key, blob.ErrInvalid, size)
	}
	// Refuse an existing key before reading a possibly huge body; the
	// conditional write below is what makes this race-free.
	if _, err := b.stat(ctx, key); err == nil {
		return blob.Info{Key: key}, fmt.Errorf("cannot put %s: %w", key, blob.ErrExists)
	} else if !errors.Is(err, blob.ErrNotFound) {
		return blob.Info{}, err
	}

	partSize := b.part
	if size > partSize*maxParts {
		partSize = (size/maxParts + 1 + 1<<20 - 1) &^ (1<<20 - 1) // round up to a MiB
	}
	body := blob.NewBody(ctx, r, size)
	buf := b.getBuf(partSize)
	if size >= 0 && size <= partSize {
		data := (*buf)[:size]
		_, err := io.ReadFull(body, data)
		if err == nil {
			_, err = body.Read(data[:0]) // at the declared end: must be io.EOF
		}
		if err != io.EOF {
			b.putBuf(buf)
			return blob.Info{}, fmt.Errorf("cannot put %s: %w", key, err)
		}
		defer b.putBuf(buf)
		return b.putSingle(ctx, key, body, data, opts)
	}
	n, err := io.ReadFull(body, *buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		defer b.putBuf(buf)
		return b.putSingle(ctx, key, body, (*buf)[:n], opts)
	case err != nil:
		b.putBuf(buf)
		return blob.Info{}, fmt.Errorf("cannot put %s: %w", key, err)
	}
	return b.putMultipart(ctx, key, body, buf, partSize, opts)
}

func (b *Backend) getBuf(size int64) *[]byte {
	if size == b.part {
		return b.bufs.Get().(*[]byte)
	}
	buf := make([]byte, size)
	return &buf
}

func (b *Backend) putBuf(p *[]byte) {
	if int64(len(*p)) == b.part {
		b.bufs.Put(p)
	}
}

// putSingle stores a body that is wholly in data with one conditional PUT.
func (b *Backend) putSingle(ctx context.Context, key string, body *blob.Body, data []byte, opts blob.PutOptions) (blob.Info, error) {
	info := blob.Info{Key: key, Size: int64(len(data)), SHA256: body.SHA256()}
	if err := blob.VerifySHA256(info.SHA256, opts.ExpectSHA256); err != nil {
		return info, fmt.Errorf("cannot put %s: %w", key, err)
	}
	if err := opts.Commit(info); err != nil {
		return info, err
	}
	token := rand.Text()
	popts := minio.PutObjectOptions{
		ContentType:          "application/octet-stream",
		UserMetadata:         map[string]string{metaSHA256: info.SHA256, metaToken: token},
		DisableContentSha256: true, // sign with the SHA-256 we pass: the server checks the body against it
		DisableMultipart:     true,
	}
	popts.SetMatchETagExcept("*")
	cctx, cancel := b.call(ctx)
	_, err := b.core.PutObject(cctx, b.bucket, key, bytes.NewReader(data), info.Size, "", info.SHA256, popts)
	cancel()
	if err != nil {
		if owned, err := b.commitFailed(ctx, key, token, err); !owned {
			return info, err
		}
	}
	info.Modified = time.Now()
	return info, nil
}

// commitFailed decides what a failed final write means. The write may have
// happened anyway (minio-go retried a request whose answer was lost, which
// then meets our own object as a 412), so it looks for the object with our
// token first: then the Put succeeded. Otherwise a 412 is blob.ErrExists.
func (b *Backend) commitFailed(ctx context.Context, key, token string, err error) (bool, error) {
	sctx, cancel := b.cleanupCtx(ctx)
	oi, serr := b.client.StatObject(sctx, b.bucket, key, minio.StatObjectOptions{})
	cancel()
	if serr == nil && meta(oi.UserMetadata, metaToken) == token {
		return true, nil
	}
	if isPreconditionFailed(err) {
		return false, fmt.Errorf("cannot put %s: %w", key, blob.ErrExists)
	}
	return false, classify(ctx, "put "+key, err)
}

// putMultipart uploads a body longer than one part; first holds its first
// part, already read.
func (b *Backend) putMultipart(ctx context.Context, key string, body *blob.Body, first *[]byte, partSize int64, opts blob.PutOptions) (blob.Info, error) {
	marker, err := b.writeMarker(ctx, key)
	if err != nil {
		b.putBuf(first)
		return blob.Info{}, err
	}
	token := rand.Text()
	md := map[string]string{metaToken: token}
	if opts.ExpectSHA256 != "" {
		md[metaSHA256] = opts.ExpectSHA256 // Put fails unless the body has it
	}
	cctx, cancel := b.call(ctx)
	uploadID, err := b.core.NewMultipartUpload(cctx, b.bucket, key, minio.PutObjectOptions{
		ContentType: "application/octet-stream", UserMetadata: md,
	})
	cancel()
	if err != nil {
		b.putBuf(first)
		b.removeMarker(ctx, marker)
		return blob.Info{}, classify(ctx, "start the upload of "+key, err)
	}
	committed := false
	defer func() {
		if !committed && !b.abort(ctx, key, uploadID) {
			return // keep the marker: CleanupIncomplete will abort it
		}
		b.removeMarker(ctx, marker)
	}()

	up := &uploader{b: b, key: key, uploadID: uploadID, partSize: partSize, parent: ctx}
	parts, err := up.run(body, first)
	if err != nil {
		return blob.Info{}, err
	}
	info := blob.Info{Key: key, Size: body.N(), SHA256: body.SHA256()}
	if err := blob.VerifySHA256(info.SHA256, opts.ExpectSHA256); err != nil {
		return info, fmt.Errorf("cannot put %s: %w", key, err)
	}
	if err := opts.Commit(info); err != nil {
		return info, err
	}
	var copts minio.PutObjectOptions
	copts.SetMatchETagExcept("*")
	cctx, cancel = b.call(ctx)
	_, err = b.core.CompleteMultipartUpload(cctx, b.bucket, key, uploadID, parts, copts)
	cancel()
	if err != nil {
		owned, err := b.commitFailed(ctx, key, token, err)
		if !owned {
			return info, err
		}
	}
	committed = true
	info.Modified = time.Now()
	return info, nil
}

// abort aborts a multipart upload, also after the caller's context ended,
// and reports whether it is gone.
func (b *Backend) abort(ctx context.Context, key, uploadID string) bool {
	cctx, cancel := b.cleanupCtx(ctx)
	defer cancel()
	err := b.core.AbortMultipartUpload(cctx, b.bucket, key, uploadID)
	return err == nil || minio.ToErrorResponse(err).Code == "NoSuchUpload"
}
