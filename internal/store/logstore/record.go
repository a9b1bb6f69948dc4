package logstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A log record is an 8-byte header — the body's length and its CRC-32C,
// little-endian — and the body: the operation, the revision (uvarint),
// the key's length (uvarint), the key, and for a put the value (the rest).
const (
	headerSize = 8
	opPut      = 1
	opDelete   = 2
	// maxBody bounds a record read back (a corrupt length must not
	// allocate without limit).
	maxBody = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends the record of one change to b.
func appendRecord(b []byte, op byte, rev uint64, key string, val []byte) []byte {
	start := len(b)
	b = append(b, make([]byte, headerSize)...)
	b = append(b, op)
	b = binary.AppendUvarint(b, rev)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = append(b, val...)
	body := b[start+headerSize:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(body, crcTable))
	return b
}

// recordSize is the size of a put record of key and val at rev.
func recordSize(rev uint64, key string, val []byte) int64 {
	var tmp [binary.MaxVarintLen64]byte
	return int64(headerSize + 1 + binary.PutUvarint(tmp[:], rev) + binary.PutUvarint(tmp[:], uint64(len(key))) + len(key) + len(val))
}

var errTorn = errors.New("torn or corrupt record")

// readRecord reads the next record from r, at most limit bytes long (what
// is left of the file: a corrupt length must not allocate more): io.EOF
// at a clean end, errTorn for a short or corrupt one. body is a buffer to
// reuse; the one used is returned.
func readRecord(r *bufio.Reader, body []byte, limit int64) (op byte, rev uint64, key string, val []byte, n int64, buf []byte, err error) {
	var hdr [headerSize]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, 0, "", nil, 0, body, io.EOF
		}
		return 0, 0, "", nil, 0, body, errTorn
	}
	size := binary.LittleEndian.Uint32(hdr[:])
	if size < 3 || size > maxBody || int64(size) > limit-headerSize {
		return 0, 0, "", nil, 0, body, errTorn
	}
	if cap(body) < int(size) {
		body = make([]byte, size)
	}
	b := body[:size]
	if _, err = io.ReadFull(r, b); err != nil {
		return 0, 0, "", nil, 0, body, errTorn
	}
	op, rev, key, val, ok := parseBody(b, binary.LittleEndian.Uint32(hdr[4:]))
	if !ok {
		return 0, 0, "", nil, 0, body, errTorn
	}
	return op, rev, key, val, int64(headerSize) + int64(size), body, nil
}

// parseBody checks a record's body against its CRC and decodes it.
func parseBody(b []byte, crc uint32) (op byte, rev uint64, key string, val []byte, ok bool) {
	if len(b) < 3 || crc32.Checksum(b, crcTable) != crc {
		return 0, 0, "", nil, false
	}
	op, b = b[0], b[1:]
	rev, m := binary.Uvarint(b)
	if m <= 0 {
		return 0, 0, "", nil, false
	}
	b = b[m:]
	klen, m := binary.Uvarint(b)
	if m <= 0 || klen > uint64(len(b)-m) || (op != opPut && op != opDelete) {
		return 0, 0, "", nil, false
	}
	b = b[m:]
	key, val = string(b[:klen]), b[klen:]
	if op == opDelete && len(val) != 0 {
		return 0, 0, "", nil, false
	}
	return op, rev, key, val, true
}

// resyncWindow is how far past a bad record replay looks for the next
// whole one.
const resyncWindow = 1 << 20

// resync looks for the first whole record (its header's length fits the
// file and its CRC matches) after a bad one at off, within resyncWindow:
// its offset, or false when there is none (the bad record is the torn
// tail of a crash).
func (s *Store) resync(off, fileSize int64) (int64, bool) {
	end := min(fileSize, off+1+resyncWindow)
	window := make([]byte, end-off)
	if _, err := s.f.ReadAt(window, off); err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	for p := int64(1); p+headerSize <= int64(len(window)); p++ {
		size := int64(binary.LittleEndian.Uint32(window[p:]))
		at := off + p
		if size < 3 || size > maxBody || at+headerSize+size > fileSize {
			continue
		}
		var b []byte
		if p+headerSize+size <= int64(len(window)) {
			b = window[p+headerSize : p+headerSize+size]
		} else {
			b = make([]byte, size)
			if _, err := s.f.ReadAt(b, at+headerSize); err != nil {
				continue
			}
		}
		if _, _, _, _, ok := parseBody(b, binary.LittleEndian.Uint32(window[p+4:])); ok {
			return at, true
		}
	}
	return 0, false
}

// replay reads the log into the map. A bad record followed by whole ones
// (bit rot, not a crash) is skipped and logged as an error: it loses that
// change, not the log after it. A torn or corrupt tail (a crash in the
// middle of an append: nothing whole follows) is cut off and logged.
func (s *Store) replay() error {
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	fileSize := st.Size()
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 1<<20)
	var body []byte
	var off int64
	for {
		op, rev, key, val, n, buf, err := readRecord(r, body, fileSize-off)
		body = buf
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if next, ok := s.resync(off, fileSize); ok {
				s.log.Error("skipping a corrupt record in the log store: the change it held is lost", "path", s.opts.Path, "at", off, "bytes", next-off)
				if _, err := s.f.Seek(next, io.SeekStart); err != nil {
					return err
				}
				r.Reset(s.f)
				off = next
				continue
			}
			s.log.Warn("cutting a torn or corrupt tail off the log store", "path", s.opts.Path, "at", off, "bytes", fileSize-off)
			if err := s.f.Truncate(off); err != nil {
				return fmt.Errorf("cannot cut its torn tail: %w", err)
			}
			break
		}
		s.apply(op, rev, key, val, n)
		off += n
	}
	if _, err := s.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	s.size = off
	return nil
}

// apply applies one replayed record (n bytes) to the map.
func (s *Store) apply(op byte, rev uint64, key string, val []byte, n int64) {
	s.rev = max(s.rev, rev)
	old := s.m[key]
	if old != nil {
		s.live -= recordSize(old.ver, key, old.val)
		old.owner = nil
	}
	if op == opDelete {
		delete(s.m, key)
		return
	}
	s.m[key] = &item{val: append([]byte(nil), val...), ver: rev, key: key, owner: s}
	s.live += n
}
