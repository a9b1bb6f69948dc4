// Package diskblob is the blob.Backend of `wharf serve`: blobs are files in
// one local directory, reached only through an os.Root.
//
// Layout under Options.Dir:
//
//	objects/<key>@   one file per blob: a 128-byte header (SHA-256 and size)
//	                 followed by the blob's bytes; key segments are directories
//	incoming/*.tmp   bodies being written by Put (or left by a crash)
//
// The "@" suffix cannot occur in a key, so a key ("a") and a directory of
// longer keys ("a/b") never collide, just as on S3.
//
// Put writes the body to a new temporary file in incoming/, fsyncs it,
// verifies the checksum, and only then hard-links it into place with
// os.Root.Link, which fails when the name exists: publication is atomic and
// create-only, of several concurrent Puts of a key exactly one links, and no
// half-written file is ever visible at a blob's path. The temporary file is
// removed on every path out of Put; after a crash CleanupIncomplete removes
// it. PresignGet returns blob.ErrNotSupported: serve blobs through Get.
package diskblob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
)

const (
	objectsDir  = "objects"
	incomingDir = "incoming"
	blobSuffix  = "@"
	tmpSuffix   = ".tmp"
	copyBufSize = 1 << 20
	filePerm    = 0o600
	dirPerm     = 0o700
)

// Options configures the disk backend.
type Options struct {
	// Dir holds the blobs; it is created (mode 0700) if missing.
	Dir string
}

// Backend stores blobs in a directory. It is safe for concurrent use, also
// by several processes sharing the directory.
type Backend struct {
	root *os.Root
	bufs sync.Pool
}

var _ blob.Backend = (*Backend)(nil)

// New opens (creating if needed) the blob directory.
func New(opts Options) (*Backend, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("cannot open disk blob store: %w: empty directory", blob.ErrInvalid)
	}
	for _, d := range []string{opts.Dir, filepath.Join(opts.Dir, objectsDir), filepath.Join(opts.Dir, incomingDir)} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("cannot create blob directory: %w", err)
		}
	}
	root, err := os.OpenRoot(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot open blob directory: %w", err)
	}
	b := &Backend{root: root}
	b.bufs.New = func() any { buf := make([]byte, copyBufSize); return &buf }
	return b, nil
}

// Close releases the directory handle.
func (b *Backend) Close() error { return b.root.Close() }

// objectPath is where key's file lives, relative to the root.
func objectPath(key string) string { return objectsDir + "/" + key + blobSuffix }

// unavailable wraps a failure of the disk.
func unavailable(op string, err error) error {
	return fmt.Errorf("cannot %s: %w: %w", op, blob.ErrUnavailable, err)
}

// Put implements blob.Backend.
func (b *Backend) Put(ctx context.Context, key string, r io.Reader, size int64, opts blob.PutOptions) (blob.Info, error) {
	opts, err := blob.PreparePut(key, size, opts)
	if err != nil {
		return blob.Info{}, fmt.Errorf("cannot put blob: %w", err)
	}
	final := objectPath(key)
	if _, err := b.root.Lstat(final); err == nil {
		return blob.Info{Key: key}, fmt.Errorf("cannot put %s: %w", key, blob.ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return blob.Info{}, unavailable("check "+key, err)
	}

	tmp := incomingDir + "/" + rand.Text() + tmpSuffix
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return blob.Info{}, unavailable("create a temporary file", err)
	}
	defer func() {
		_ = f.Close() // already closed on success; a second Close only errors
		_ = b.root.Remove(tmp)
	}()

	info, err := b.write(ctx, f, key, r, size)
	if err != nil {
		return info, err
	}
	if err := blob.VerifySHA256(info.SHA256, opts.ExpectSHA256); err != nil {
		return info, fmt.Errorf("cannot put %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return info, unavailable("close the temporary file", err)
	}
	if err := opts.Commit(info); err != nil {
		return info, err
	}
	if err := b.link(tmp, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return info, fmt.Errorf("cannot put %s: %w", key, blob.ErrExists)
		}
		return info, unavailable("publish "+key, err)
	}
	if st, err := b.root.Lstat(final); err == nil {
		info.Modified = st.ModTime()
	}
	return info, nil
}

// write copies the body after a header placeholder, writes the header and
// fsyncs the file.
func (b *Backend) write(ctx context.Context, f *os.File, key string, r io.Reader, size int64) (blob.Info, error) {
	if _, err := f.Write(make([]byte, headerSize)); err != nil {
		return blob.Info{}, unavailable("write "+key, err)
	}
	body := blob.NewBody(ctx, r, size)
	bufp := b.bufs.Get().(*[]byte)
	_, err := io.CopyBuffer(fileWriter{f}, body, *bufp)
	b.bufs.Put(bufp)
	if err != nil {
		var we writeError
		if errors.As(err, &we) {
			return blob.Info{}, unavailable("write "+key, we.err)
		}
		return blob.Info{}, fmt.Errorf("cannot put %s: %w", key, err)
	}
	info := blob.Info{Key: key, Size: body.N(), SHA256: body.SHA256()}
	if _, err := f.WriteAt(encodeHeader(info.SHA256, info.Size), 0); err != nil {
		return info, unavailable("write "+key, err)
	}
	if err := f.Sync(); err != nil {
		return info, unavailable("sync "+key, err)
	}
	return info, nil
}

// link publishes tmp at final, create-only, and syncs the directory. It
// retries when a concurrent Delete removed the freshly made parent.
func (b *Backend) link(tmp, final string) error {
	dir := path.Dir(final)
	var err error
	for range 5 {
		if err = b.root.MkdirAll(dir, dirPerm); err != nil {
			return err
		}
		err = b.root.Link(tmp, final)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	if d, err := b.root.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// fileWriter hides *os.File's ReadFrom so io.CopyBuffer uses our buffer,
// and marks write failures so they are not taken for the body's.
type fileWriter struct{ f *os.File }

type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		return n, writeError{err}
	}
	return n, nil
}

// open opens key's file and reads its header.
func (b *Backend) open(key string) (*os.File, blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, blob.Info{}, err
	}
	f, err := b.root.Open(objectPath(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, blob.Info{}, fmt.Errorf("%s: %w", key, blob.ErrNotFound)
		}
		return nil, blob.Info{}, unavailable("open "+key, err)
	}
	info, err := readHeader(f, key)
	if err != nil {
		f.Close()
		return nil, blob.Info{}, err
	}
	return f, info, nil
}

// Get implements blob.Backend. The reader also implements io.Seeker and
// io.ReaderAt over the blob's bytes.
func (b *Backend) Get(ctx context.Context, key string) (io.ReadCloser, blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return nil, blob.Info{}, fmt.Errorf("cannot get %s: %w", key, err)
	}
	f, info, err := b.open(key)
	if err != nil {
		return nil, blob.Info{}, fmt.Errorf("cannot get blob: %w", err)
	}
	return &reader{SectionReader: io.NewSectionReader(f, headerSize, info.Size), f: f}, info, nil
}

// reader streams a blob's bytes and closes its file.
type reader struct {
	*io.SectionReader
	f *os.File
}

// Close closes the file.
func (r *reader) Close() error { return r.f.Close() }

// Stat implements blob.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("cannot stat %s: %w", key, err)
	}
	f, info, err := b.open(key)
	if err != nil {
		return blob.Info{}, fmt.Errorf("cannot stat blob: %w", err)
	}
	f.Close()
	return info, nil
}

// Delete implements blob.Backend. It also removes directories the delete
// left empty.
func (b *Backend) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return fmt.Errorf("cannot delete blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot delete %s: %w", key, err)
	}
	p := objectPath(key)
	if err := b.root.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("cannot delete %s: %w", key, blob.ErrNotFound)
		}
		return unavailable("delete "+key, err)
	}
	for dir := path.Dir(p); dir != objectsDir && strings.HasPrefix(dir, objectsDir+"/"); dir = path.Dir(dir) {
		if b.root.Remove(dir) != nil {
			break // not empty, or already gone
		}
	}
	return nil
}

// PresignGet implements blob.Backend: the disk backend has no URLs to hand
// out and always returns blob.ErrNotSupported.
func (b *Backend) PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", fmt.Errorf("cannot presign: %w", err)
	}
	return "", fmt.Errorf("cannot presign %s: %w", key, blob.ErrNotSupported)
}

// CleanupIncomplete implements blob.Backend: it removes temporary files in
// incoming/ last written more than olderThan ago.
func (b *Backend) CleanupIncomplete(ctx context.Context, olderThan time.Duration) (int, error) {
	d, err := b.root.Open(incomingDir)
	if err != nil {
		return 0, unavailable("open "+incomingDir, err)
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return 0, unavailable("read "+incomingDir, err)
	}
	cutoff := time.Now().Add(-olderThan)
	n := 0
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("cannot clean up: %w", err)
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			continue // gone meanwhile, or possibly still being written
		}
		if err := b.root.Remove(incomingDir + "/" + e.Name()); err == nil {
			n++
		} else if !errors.Is(err, fs.ErrNotExist) {
			return n, unavailable("remove "+e.Name(), err)
		}
	}
	return n, nil
}
