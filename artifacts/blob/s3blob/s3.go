// Package s3blob is the blob.Backend on MinIO or any S3-compatible server,
// through minio-go v7. It uses only standard S3 calls.
//
// # How Put keeps its promises
//
// Bodies are read in parts of Options.PartSize. A body that fits in one part
// is hashed in memory first and sent as one PutObject carrying its SHA-256
// (the server verifies it), the digest as metadata, and If-None-Match: *.
// A larger body goes out as a multipart upload: parts are uploaded while the
// next is read (at most Options.Concurrency in flight, so memory stays at
// (Concurrency+1)×PartSize whatever the body size), each signed with its own
// SHA-256; the whole-body SHA-256 is computed on the way and compared before
// CompleteMultipartUpload, which again carries If-None-Match: *.
//
//   - Create-only: the server evaluates If-None-Match: * atomically with the
//     write (MinIO under its namespace lock; AWS S3 since 2024), so of
//     concurrent Puts of a key exactly one gets 200 and the others 412, which
//     Put reports as blob.ErrExists. Every object carries a random upload
//     token in its metadata, so a 412 caused by minio-go retrying our own
//     request whose answer was lost is recognised as our own success.
//   - Nothing kept: a checksum mismatch, a failing body, a BeforeCommit
//     error or a failed part aborts the multipart upload before it is
//     completed, so no object ever appears; a single PUT is atomic anyway.
//   - Crashes: before a multipart upload starts Put writes a marker object
//     under ".wharf/uploads/" naming the key, and removes it once the upload
//     was completed or aborted. If Put cannot abort (the server died, the
//     process crashed), the marker stays and CleanupIncomplete finds the
//     abandoned upload through it — MinIO cannot list uploads by prefix,
//     only by exact key.
//
// Stat and Get report the SHA-256 from metadata, which exists when the digest
// was known as the upload began: for bodies of at most one part, and for
// larger ones when PutOptions.ExpectSHA256 was given. Keep the digest Put
// returns (the artifacts metadata does) rather than relying on Stat.
package s3blob

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/internal/config"
)

// Defaults for Options.
const (
	DefaultPartSize       = 8 << 20
	DefaultConcurrency    = 3
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxRetries     = 3
	// MinPartSize is S3's smallest part (except the last).
	MinPartSize = 5 << 20
	// maxParts is S3's limit of parts per upload.
	maxParts = 10000
)

// Metadata keys (sent as X-Amz-Meta-*).
const (
	metaSHA256 = "Wharf-Sha256"
	metaToken  = "Wharf-Upload"
)

// Options configures the S3 backend.
type Options struct {
	// Endpoint is host:port of the S3 server.
	Endpoint string
	// AccessKey and SecretKey are the credentials.
	AccessKey, SecretKey string
	// Bucket holds the blobs; New creates it when missing.
	Bucket string
	// Secure uses TLS.
	Secure bool
	// Region is the bucket's region; empty asks the server once.
	Region string
	// PartSize is the multipart part size in bytes (default DefaultPartSize,
	// at least MinPartSize). Bodies of at most one part go in a single PUT.
	PartSize int64
	// Concurrency is how many parts upload at once (default DefaultConcurrency).
	Concurrency int
	// RequestTimeout bounds every S3 request except Get's stream (default
	// DefaultRequestTimeout).
	RequestTimeout time.Duration
	// MaxRetries is how often minio-go tries a failing request (default
	// DefaultMaxRetries; 1 disables retries).
	MaxRetries int
	// Transport, when set, replaces minio-go's HTTP transport.
	Transport http.RoundTripper
}

// FromConfig returns Options for Wharf's minio.* configuration.
func FromConfig(c config.MinIOOptions) Options {
	return Options{Endpoint: c.Endpoint, AccessKey: c.AccessKey, SecretKey: c.SecretKey, Bucket: c.Bucket, Secure: c.Secure}
}

// Backend stores blobs in an S3 bucket. It is safe for concurrent use.
type Backend struct {
	client  *minio.Client
	core    minio.Core
	bucket  string
	part    int64
	conc    int
	timeout time.Duration
	bufs    sync.Pool // *[]byte of len part
}

var _ blob.Backend = (*Backend)(nil)

// New connects to the server and creates the bucket if it is missing. An
// unreachable server is an error wrapping blob.ErrUnavailable.
func New(ctx context.Context, opts Options) (*Backend, error) {
	if opts.Endpoint == "" || opts.Bucket == "" {
		return nil, fmt.Errorf("cannot open S3 blob store: %w: endpoint and bucket are required", blob.ErrInvalid)
	}
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < MinPartSize {
		return nil, fmt.Errorf("cannot open S3 blob store: %w: part size %d is below S3's minimum %d", blob.ErrInvalid, opts.PartSize, MinPartSize)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.MaxRetries <= 0 {
		opts.MaxRetries = DefaultMaxRetries
	}
	client, err := minio.New(opts.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:     opts.Secure,
		Region:     opts.Region,
		Transport:  opts.Transport,
		MaxRetries: opts.MaxRetries,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open S3 blob store: %w: %w", blob.ErrInvalid, err)
	}
	b := &Backend{
		client: client, core: minio.Core{Client: client}, bucket: opts.Bucket,
		part: opts.PartSize, conc: opts.Concurrency, timeout: opts.RequestTimeout,
	}
	b.bufs.New = func() any { buf := make([]byte, b.part); return &buf }
	if err := b.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Backend) ensureBucket(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	for {
		err := b.makeBucket(cctx)
		if err == nil {
			return nil
		}
		// A server that is still starting answers 503 for a moment
		// (MinIO: "Server not initialized yet"); wait for it.
		if minio.ToErrorResponse(err).StatusCode != http.StatusServiceUnavailable {
			return classify(ctx, "open bucket "+b.bucket, err)
		}
		select {
		case <-cctx.Done():
			return classify(ctx, "open bucket "+b.bucket, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *Backend) makeBucket(ctx context.Context) error {
	ok, err := b.client.BucketExists(ctx, b.bucket)
	if err != nil || ok {
		return err
	}
	err = b.client.MakeBucket(ctx, b.bucket, minio.MakeBucketOptions{})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil
	}
	return err
}

// Client returns the minio-go client, for tests and tools.
func (b *Backend) Client() *minio.Client { return b.client }

// Bucket returns the bucket's name.
func (b *Backend) Bucket() string { return b.bucket }

// call returns a context for one S3 request.
func (b *Backend) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.timeout)
}

// cleanupCtx is for aborts and removals that must run even when the
// caller's context has ended.
func (b *Backend) cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), b.timeout)
}

// classify wraps an S3 error: the caller's own cancellation as is, a missing
// key as blob.ErrNotFound, everything else as blob.ErrUnavailable.
func classify(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("cannot %s: %w", op, cerr)
	}
	if isNoSuchKey(err) {
		return fmt.Errorf("cannot %s: %w", op, blob.ErrNotFound)
	}
	return fmt.Errorf("cannot %s: %w: %w", op, blob.ErrUnavailable, err)
}

func isNoSuchKey(err error) bool {
	return minio.ToErrorResponse(err).Code == "NoSuchKey"
}

func isPreconditionFailed(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusPreconditionFailed || r.Code == "PreconditionFailed"
}

// meta reads a user metadata value case-insensitively.
func meta(m map[string]string, key string) string {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

func infoOf(key string, oi minio.ObjectInfo) blob.Info {
	return blob.Info{Key: key, Size: oi.Size, SHA256: meta(oi.UserMetadata, metaSHA256), Modified: oi.LastModified}
}

// stat is StatObject that also returns the raw ObjectInfo.
func (b *Backend) stat(ctx context.Context, key string) (minio.ObjectInfo, error) {
	cctx, cancel := b.call(ctx)
	defer cancel()
	oi, err := b.client.StatObject(cctx, b.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return minio.ObjectInfo{}, classify(ctx, "stat "+key, err)
	}
	return oi, nil
}

// Stat implements blob.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, fmt.Errorf("cannot stat blob: %w", err)
	}
	oi, err := b.stat(ctx, key)
	if err != nil {
		return blob.Info{}, err
	}
	return infoOf(key, oi), nil
}

// Get implements blob.Backend. The returned reader is a *minio.Object (it
// also implements io.Seeker and io.ReaderAt).
func (b *Backend) Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, blob.Info{}, fmt.Errorf("cannot get blob: %w", err)
	}
	obj, err := b.client.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, blob.Info{}, classify(ctx, "get "+key, err)
	}
	oi, err := obj.Stat() // sends the request; the body streams from here
	if err != nil {
		obj.Close()
		return nil, blob.Info{}, classify(ctx, "get "+key, err)
	}
	return obj, infoOf(key, oi), nil
}

// Delete implements blob.Backend. S3 deletes are idempotent, so Delete
// stats the key first to report blob.ErrNotFound.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("cannot delete blob: %w", err)
	}
	if _, err := b.stat(ctx, key); err != nil {
		return err
	}
	cctx, cancel := b.call(ctx)
	defer cancel()
	if err := b.client.RemoveObject(cctx, b.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return classify(ctx, "delete "+key, err)
	}
	return nil
}

// PresignGet implements blob.Backend: a presigned GET URL for the endpoint as
// this backend reaches it, valid for expiry (1 s to 7 days).
func (b *Backend) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", fmt.Errorf("cannot presign: %w", err)
	}
	if expiry < time.Second || expiry > 7*24*time.Hour {
		return "", fmt.Errorf("cannot presign %s: %w: expiry %v is outside 1s to 7 days", key, blob.ErrInvalid, expiry)
	}
	cctx, cancel := b.call(ctx)
	defer cancel()
	u, err := b.client.PresignedGetObject(cctx, b.bucket, key, expiry, nil)
	if err != nil {
		return "", classify(ctx, "presign "+key, err)
	}
	return u.String(), nil
}
