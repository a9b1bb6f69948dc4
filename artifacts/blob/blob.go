// Package blob defines Wharf's blob storage contract for artifact bundles and
// the types its backends share: S3/MinIO (package blob/s3blob) and a local
// directory for `wharf serve` (package blob/diskblob). Both pass the
// conformance suite in blob/blobtest.
//
// Blobs are immutable. Put is create-only and all-or-nothing: it streams the
// body without holding it in memory, hashes it with SHA-256 on the way, and
// makes the object visible only once the whole body was read, checked and
// written. When Put fails for any reason — the key exists, the checksum
// differs, the client's body breaks off, the backend fails — nothing is kept:
// no object, no temporary file, no incomplete multipart upload (a crash of
// the process or of the backend mid-way can leave leftovers that nobody can
// see; CleanupIncomplete removes them).
//
// Every error a backend returns can be classified with errors.Is / errors.As:
//
//	ErrInvalid      bad key or bad PutOptions (HTTP 400)
//	ErrNotFound     Get, Stat or Delete of a missing key (404)
//	ErrExists       Put of an existing key (409)
//	ErrChecksum     the body's SHA-256 is not PutOptions.ExpectSHA256 (400)
//	*ReadError      the body could not be read: client went away, sent less
//	                or more than the declared size, a limit reader refused it
//	                (400, or 413 when the wrapped cause says so)
//	ErrUnavailable  the backend failed or could not be reached; retry later (503)
//	ErrNotSupported the backend cannot do this (PresignGet on disk)
//
// An error from the caller's context (context.Canceled, DeadlineExceeded) is
// returned wrapped as is.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

var (
	// ErrInvalid is returned for an invalid key, an invalid PutOptions.ExpectSHA256
	// or another invalid argument; the message says which.
	ErrInvalid = errors.New("invalid argument")
	// ErrNotFound is returned by Get, Stat and Delete when the key does not exist.
	ErrNotFound = errors.New("blob not found")
	// ErrExists is returned by Put when the key already exists, including when
	// another Put of the same key won a race.
	ErrExists = errors.New("blob already exists")
	// ErrChecksum is returned by Put when the body's SHA-256 differs from
	// PutOptions.ExpectSHA256; nothing is kept.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnavailable wraps a failure of the storage itself (the server is down
	// or answers with an error, the disk fails); nothing was kept and a retry
	// may succeed.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrNotSupported is returned by a backend that cannot perform the
	// operation, such as PresignGet on the disk backend.
	ErrNotSupported = errors.New("not supported by this backend")
)

// ReadError is a failure to read the body given to Put: the client
// disconnected, sent fewer or more bytes than the declared size, or the
// reader refused it (e.g. a size limit). It is the caller's side, never the
// backend's. Err is the reader's own error, so errors.Is/As reach it (for
// example a body limit's "too large" error, to answer 413).
type ReadError struct {
	Err error
}

// Error implements error.
func (e *ReadError) Error() string { return fmt.Sprintf("cannot read the body: %v", e.Err) }

// Unwrap returns the reader's error.
func (e *ReadError) Unwrap() error { return e.Err }

// Info describes a stored blob.
type Info struct {
	// Key is the blob's key.
	Key string
	// Size is the length of the blob in bytes.
	Size int64
	// SHA256 is the lowercase hex SHA-256 of the blob. Put always fills it.
	// Stat and Get fill it when the backend recorded it (always on disk; on
	// S3 when the digest was known as the upload began — see s3blob). List
	// leaves it empty.
	SHA256 string
	// Modified is when the blob was stored, as the backend reports it.
	Modified time.Time
}

// PutOptions tunes Put.
type PutOptions struct {
	// ExpectSHA256, when set, is the hex SHA-256 the body must have; Put
	// fails with ErrChecksum and keeps nothing when it differs. Upper- and
	// lowercase hex are accepted.
	ExpectSHA256 string
	// BeforeCommit, when set, is called once the whole body was read and its
	// checksum verified, just before the blob becomes visible, with the Info
	// Put is about to return. An error from it aborts the Put: nothing is kept
	// and Put returns the error wrapped (errors.Is/As reach it). Use it for
	// checks that need the whole body, such as a quota on the final size or a
	// manifest that must have been found in the stream.
	BeforeCommit func(Info) error
}

// ListOptions pages through List.
type ListOptions struct {
	// After starts the page after this key (exclusive); empty starts at the prefix.
	After string
	// Limit caps the page size; zero means DefaultListLimit.
	Limit int
}

// DefaultListLimit is the page size of List when ListOptions.Limit is zero.
const DefaultListLimit = 1000

// Page is one page of List.
type Page struct {
	// Items are the blobs of the page in ascending key order, with Key, Size
	// and Modified filled.
	Items []Info
	// Next is the key to pass as ListOptions.After for the next page; empty on
	// the last page.
	Next string
}

// Backend is a blob store. Implementations are safe for concurrent use.
type Backend interface {
	// Put stores the body read from r under key, create-only. size is the
	// body's length, or -1 when unknown; a body shorter or longer than a
	// given size fails with a *ReadError. Put reads r to its end (or first
	// error) and never holds the whole body in memory.
	Put(ctx context.Context, key string, r io.Reader, size int64, opts PutOptions) (Info, error)
	// Get opens the blob for streaming. The caller must close the reader.
	// ctx governs the whole read, not only the call: when the body is sent
	// after the handler returned (fasthttp's SetBodyStream), pass a context
	// that lives until the reader is closed.
	Get(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes the blob, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the blob, or returns ErrNotFound.
	Delete(ctx context.Context, key string) error
	// List returns blobs whose key starts with prefix (a plain string prefix,
	// not only whole path segments), one page at a time, in key order.
	List(ctx context.Context, prefix string, opts ListOptions) (Page, error)
	// PresignGet returns a URL anyone can GET the blob from until expiry
	// passes, or ErrNotSupported when the backend cannot do that (then serve
	// the blob through Get). It does not check that the blob exists.
	PresignGet(ctx context.Context, key string, expiry time.Duration) (string, error)
	// CleanupIncomplete removes leftovers of Puts that crashed (temporary
	// files, abandoned multipart uploads) last touched more than olderThan
	// ago and returns how many abandoned Puts it cleaned up. Use an
	// olderThan well above the longest upload: a younger leftover may belong
	// to a Put still running. Leftovers are never visible to Get, Stat or
	// List, so running it is about space, not correctness.
	CleanupIncomplete(ctx context.Context, olderThan time.Duration) (int, error)
}
