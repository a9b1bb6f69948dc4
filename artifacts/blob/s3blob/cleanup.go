package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// markerPrefix holds one small object per multipart Put in progress; its
// body is the key being uploaded.
const markerPrefix = ".wharf/uploads/"

// writeMarker records that a multipart upload of key is about to start.
func (b *Backend) writeMarker(ctx context.Context, key string) (string, error) {
	name := markerPrefix + strconv.FormatInt(time.Now().UnixNano(), 10) + "-" + rand.Text()
	cctx, cancel := b.call(ctx)
	defer cancel()
	_, err := b.core.PutObject(cctx, b.bucket, name, bytes.NewReader([]byte(key)), int64(len(key)), "", "",
		minio.PutObjectOptions{ContentType: "text/plain"})
	if err != nil {
		return "", classify(ctx, "record the upload of "+key, err)
	}
	return name, nil
}

// removeMarker deletes a marker, best effort: a leftover marker only costs
// CleanupIncomplete a look.
func (b *Backend) removeMarker(ctx context.Context, name string) {
	cctx, cancel := b.cleanupCtx(ctx)
	defer cancel()
	_ = b.client.RemoveObject(cctx, b.bucket, name, minio.RemoveObjectOptions{})
}

// CleanupIncomplete implements blob.Backend. It visits the markers of Puts
// that began more than olderThan ago, aborts their key's multipart uploads
// initiated before that cutoff, and removes the marker. It returns the number
// of abandoned Puts cleaned up.
func (b *Backend) CleanupIncomplete(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	for oi := range b.client.ListObjects(lctx, b.bucket, minio.ListObjectsOptions{Prefix: markerPrefix, Recursive: true}) {
		if oi.Err != nil {
			return n, classify(ctx, "list upload markers", oi.Err)
		}
		if oi.LastModified.After(cutoff) {
			continue
		}
		done, err := b.cleanMarker(ctx, oi.Key, cutoff)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// cleanMarker aborts the uploads a marker points at. It keeps the marker
// (and reports false) while its key has an upload younger than cutoff.
func (b *Backend) cleanMarker(ctx context.Context, marker string, cutoff time.Time) (bool, error) {
	key, err := b.readMarker(ctx, marker)
	if err != nil {
		return false, err
	}
	if blob.CheckKey(key) == nil {
		young, err := b.abortUploads(ctx, key, cutoff)
		if err != nil {
			return false, err
		}
		if young {
			return false, nil
		}
	}
	cctx, cancel := b.call(ctx)
	defer cancel()
	if err := b.client.RemoveObject(cctx, b.bucket, marker, minio.RemoveObjectOptions{}); err != nil {
		return false, classify(ctx, "remove upload marker", err)
	}
	return true, nil
}

func (b *Backend) readMarker(ctx context.Context, marker string) (string, error) {
	cctx, cancel := b.call(ctx)
	defer cancel()
	obj, err := b.client.GetObject(cctx, b.bucket, marker, minio.GetObjectOptions{})
	if err != nil {
		return "", classify(ctx, "read upload marker", err)
	}
	defer obj.Close()
	key, err := io.ReadAll(io.LimitReader(obj, blob.MaxKeyLen+1))
	if err != nil {
		if isNoSuchKey(err) {
			return "", nil // removed meanwhile by its Put
		}
		return "", classify(ctx, "read upload marker", err)
	}
	return string(key), nil
}

// abortUploads aborts key's multipart uploads initiated before cutoff and
// reports whether a younger one exists.
func (b *Backend) abortUploads(ctx context.Context, key string, cutoff time.Time) (young bool, err error) {
	keyMarker, idMarker := "", ""
	for {
		cctx, cancel := b.call(ctx)
		res, err := b.core.ListMultipartUploads(cctx, b.bucket, key, keyMarker, idMarker, "", 1000)
		cancel()
		if err != nil {
			return false, classify(ctx, "list uploads of "+key, err)
		}
		for _, up := range res.Uploads {
			if up.Key != key {
				continue
			}
			if up.Initiated.After(cutoff) {
				young = true
				continue
			}
			cctx, cancel := b.call(ctx)
			err := b.core.AbortMultipartUpload(cctx, b.bucket, key, up.UploadID)
			cancel()
			if err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
				return false, classify(ctx, "abort upload of "+key, err)
			}
		}
		if !res.IsTruncated {
			return young, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}
