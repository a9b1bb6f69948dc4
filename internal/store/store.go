// Package store defines Wharf's small key-value contract and the types shared
// by its engines: buntdb (embedded, package store/buntstore) and Redis (shared,
// package store/redisstore). Both pass the conformance suite in store/storetest.
//
// Every change to the store gets a revision from one monotonically increasing
// counter. A key's Version is the revision of its last change, which makes
// compare-and-swap and resumable watches possible: List returns the revision of
// its snapshot, and Watch from that revision delivers every later change, in
// order, without a gap.
package store

import (
	"context"
	"errors"
	"math"
	"time"
)

var (
	// ErrNotFound is returned by Get, Delete and CompareAndSwap when the key does not exist.
	ErrNotFound = errors.New("key not found")
	// ErrConflict is returned by CompareAndSwap when the key's version differs from the expected one.
	ErrConflict = errors.New("version conflict")
	// ErrCompacted is delivered by Watch when the requested revision is older than the
	// oldest change the engine still keeps; the watcher must List again and restart.
	ErrCompacted = errors.New("revision compacted")
	// ErrInvalidKey is returned for an empty key or one with a NUL byte.
	ErrInvalidKey = errors.New("invalid key")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store closed")
)

// Entry is one stored key.
type Entry struct {
	Key   string
	Value []byte
	// Version is the revision of the key's last change; it is never 0 for a stored key.
	Version uint64
	// ExpiresAt is zero when the key has no TTL.
	ExpiresAt time.Time
}

// EventType says what happened to a key.
type EventType uint8

const (
	// EventPut is a create or update.
	EventPut EventType = iota + 1
	// EventDelete is an explicit delete.
	EventDelete
	// EventExpire is a removal because the key's TTL ran out.
	EventExpire
)

// String returns "put", "delete" or "expire".
func (t EventType) String() string {
	switch t {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	case EventExpire:
		return "expire"
	}
	return "unknown"
}

// Event is one change delivered by Watch.
type Event struct {
	Type     EventType
	Key      string
	Value    []byte // nil for delete and expire
	Revision uint64
	// Err is set on the last event of a watch that cannot go on (ErrCompacted, ErrClosed);
	// the channel is closed right after it.
	Err error
}

// PutOptions tunes Put and CompareAndSwap.
type PutOptions struct {
	// TTL removes the key after this long; zero means no expiry. Resolution is a millisecond.
	TTL time.Duration
}

// FromNow as Watch's fromRev starts the watch at the store's current revision.
const FromNow = math.MaxUint64

// DefaultListLimit is the page size of List when ListOptions.Limit is zero.
const DefaultListLimit = 1000

// ListOptions pages through List.
type ListOptions struct {
	// After starts the page after this key (exclusive); empty starts at the prefix.
	After string
	// Limit caps the page size; zero means DefaultListLimit.
	Limit int
}

// Page is one page of List.
type Page struct {
	Entries []Entry
	// Next is the key to pass as ListOptions.After for the next page; empty on the last page.
	Next string
	// Revision is the store revision the page was read at; Watch(prefix, Revision) continues from it.
	Revision uint64
}

// Store is the key-value contract every Wharf component uses for state.
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns the entry or ErrNotFound.
	Get(ctx context.Context, key string) (Entry, error)
	// Put creates or replaces the key and returns its new version.
	Put(ctx context.Context, key string, value []byte, opts PutOptions) (uint64, error)
	// Delete removes the key and returns the revision of the delete, or ErrNotFound.
	Delete(ctx context.Context, key string) (uint64, error)
	// CompareAndSwap writes the key only if its current version equals expect
	// (expect 0 means "must not exist"). It returns the new version, or ErrConflict.
	CompareAndSwap(ctx context.Context, key string, expect uint64, value []byte, opts PutOptions) (uint64, error)
	// CompareAndDelete deletes the key only if its version equals expect; ErrConflict otherwise.
	CompareAndDelete(ctx context.Context, key string, expect uint64) (uint64, error)
	// List returns keys with the prefix in ascending key order, one page at a time.
	List(ctx context.Context, prefix string, opts ListOptions) (Page, error)
	// Watch delivers every change to keys with the prefix whose revision is greater
	// than fromRev, in revision order, until ctx is done. fromRev is always taken
	// literally (0 is "from the beginning", as List on an empty store returns 0);
	// pass FromNow to start at the current revision. Engines reconnect by
	// themselves and resume where they left off.
	Watch(ctx context.Context, prefix string, fromRev uint64) (<-chan Event, error)
	// Revision returns the current store revision.
	Revision(ctx context.Context) (uint64, error)
	// Ping checks that the engine is reachable.
	Ping(ctx context.Context) error
	// Close releases resources; open watches end with ErrClosed.
	Close() error
}

// ValidKey reports whether key can be stored.
func ValidKey(key string) bool {
	if key == "" || len(key) > 1024 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return false
		}
	}
	return true
}
