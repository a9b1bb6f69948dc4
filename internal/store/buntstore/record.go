package buntstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/wharfhq/wharf/internal/store"
)

// Key namespaces inside the buntdb database.
const (
	keyNS     = "k:"
	logNS     = "l:"
	metaRev   = "m:rev"
	metaTrim  = "m:compacted"
	expIndex  = "exp"
	recHeader = 16 // version (8 bytes) + expiry unix ms (8 bytes), big endian
	noExpiry  = math.MaxUint64
	logHeader = 9 // type (1 byte) + commit unix ms (8 bytes)
)

var errCorrupt = errors.New("corrupt record")

// record is one stored user key: version, expiry and value.
type record struct {
	version uint64
	expMs   uint64 // unix milliseconds; noExpiry when the key has no TTL
	value   string
}

func (r record) encode() string {
	var b strings.Builder
	b.Grow(recHeader + len(r.value))
	var h [recHeader]byte
	binary.BigEndian.PutUint64(h[0:8], r.version)
	binary.BigEndian.PutUint64(h[8:16], r.expMs)
	b.Write(h[:])
	b.WriteString(r.value)
	return b.String()
}

func decodeRecord(s string) (record, error) {
	if len(s) < recHeader {
		return record{}, errCorrupt
	}
	return record{
		version: binary.BigEndian.Uint64([]byte(s[0:8])),
		expMs:   binary.BigEndian.Uint64([]byte(s[8:16])),
		value:   s[recHeader:],
	}, nil
}

// expired reports whether the record's TTL has run out at nowMs.
func (r record) expired(nowMs uint64) bool {
	return r.expMs != noExpiry && r.expMs <= nowMs
}

func (r record) entry(key string) store.Entry {
	e := store.Entry{Key: key, Value: []byte(r.value), Version: r.version}
	if r.expMs != noExpiry {
		e.ExpiresAt = msTime(r.expMs)
	}
	return e
}

// lessExpiry orders records by expiry; it backs the expiry index.
func lessExpiry(a, b string) bool {
	if len(a) < recHeader || len(b) < recHeader {
		return len(a) < len(b)
	}
	return a[8:16] < b[8:16]
}

// expiryPivot is a fake record that sorts right after every record expiring at or before nowMs.
func expiryPivot(nowMs uint64) string {
	return record{expMs: nowMs + 1}.encode()
}

// logEntry is one change-log entry.
type logEntry struct {
	typ   store.EventType
	atMs  uint64
	key   string
	value string
}

func (e logEntry) encode() string {
	var b strings.Builder
	b.Grow(logHeader + binary.MaxVarintLen64 + len(e.key) + len(e.value))
	var h [logHeader + binary.MaxVarintLen64]byte
	h[0] = byte(e.typ)
	binary.BigEndian.PutUint64(h[1:9], e.atMs)
	n := binary.PutUvarint(h[9:], uint64(len(e.key)))
	b.Write(h[:logHeader+n])
	b.WriteString(e.key)
	b.WriteString(e.value)
	return b.String()
}

func decodeLogEntry(s string) (logEntry, error) {
	if len(s) < logHeader+1 {
		return logEntry{}, errCorrupt
	}
	e := logEntry{typ: store.EventType(s[0]), atMs: binary.BigEndian.Uint64([]byte(s[1:9]))}
	klen, n := binary.Uvarint([]byte(s[9:min(len(s), logHeader+binary.MaxVarintLen64)]))
	if n <= 0 || uint64(len(s)-logHeader-n) < klen {
		return logEntry{}, errCorrupt
	}
	rest := s[logHeader+n:]
	e.key, e.value = rest[:klen], rest[klen:]
	return e, nil
}

// logKey returns the change-log key of a revision; zero padding keeps them in revision order.
func logKey(rev uint64) string {
	var b [len(logNS) + 20]byte
	copy(b[:], logNS)
	for i := len(logNS); i < len(b); i++ {
		b[i] = '0'
	}
	var d [20]byte
	s := strconv.AppendUint(d[:0], rev, 10)
	copy(b[len(b)-len(s):], s)
	return string(b[:])
}

func parseLogKey(k string) (uint64, error) {
	rev, err := strconv.ParseUint(strings.TrimPrefix(k, logNS), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot parse change-log key %q: %w", k, err)
	}
	return rev, nil
}
