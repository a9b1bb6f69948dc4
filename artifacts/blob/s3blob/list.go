package s3blob

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/wharfhq/wharf/artifacts/blob"
)

// List implements blob.Backend. Keys of the backend's own bookkeeping
// (first segment starting with a dot) are never listed.
func (b *Backend) List(ctx context.Context, prefix string, opts blob.ListOptions) (blob.Page, error) {
	if err := blob.CheckPrefix(prefix); err != nil {
		return blob.Page{}, fmt.Errorf("cannot list: %w", err)
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = blob.DefaultListLimit
	}
	lctx, cancel := b.call(ctx)
	defer cancel() // also stops minio-go's listing goroutine once the page is full
	var items []blob.Info
	for oi := range b.client.ListObjects(lctx, b.bucket, minio.ListObjectsOptions{
		Prefix: prefix, StartAfter: opts.After, Recursive: true, MaxKeys: min(limit+1, 1000),
	}) {
		if oi.Err != nil {
			return blob.Page{}, classify(ctx, "list "+prefix, oi.Err)
		}
		if strings.HasPrefix(oi.Key, ".") || oi.Key <= opts.After {
			continue
		}
		items = append(items, blob.Info{Key: oi.Key, Size: oi.Size, Modified: oi.LastModified})
		if len(items) > limit {
			break
		}
	}
	page := blob.Page{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = items[limit-1].Key
	}
	return page, nil
}
