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

// readRecord reads the next record from r: io.EOF at a clean end,
// errTorn for a short or corrupt one.
func readRecord(r *bufio.Reader, body []byte) (op byte, rev uint64, key string, val []byte, n int64, err error) {
	var hdr [headerSize]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, 0, "", nil, 0, io.EOF
		}
		return 0, 0, "", nil, 0, errTorn
	}
	size := binary.LittleEndian.Uint32(hdr[:])
	if size < 3 || size > maxBody {
		return 0, 0, "", nil, 0, errTorn
	}
	if cap(body) < int(size) {
		body = make([]byte, size)
	}
	body = body[:size]
	if _, err = io.ReadFull(r, body); err != nil {
		return 0, 0, "", nil, 0, errTorn
	}
	if crc32.Checksum(body, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
		return 0, 0, "", nil, 0, errTorn
	}
	op, b := body[0], body[1:]
	rev, m := binary.Uvarint(b)
	if m <= 0 {
		return 0, 0, "", nil, 0, errTorn
	}
	b = b[m:]
	klen, m := binary.Uvarint(b)
	if m <= 0 || klen > uint64(len(b)-m) || (op != opPut && op != opDelete) {
		return 0, 0, "", nil, 0, errTorn
	}
	b = b[m:]
	key, val = string(b[:klen]), b[klen:]
	if op == opDelete && len(val) != 0 {
		return 0, 0, "", nil, 0, errTorn
	}
	return op, rev, key, val, int64(headerSize) + int64(size), nil
}

// replay reads the log into the map. A torn or corrupt tail is cut off
// (the file is truncated to the last whole record) and logged.
func (s *Store) replay() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(s.f, 1<<20)
	var body []byte
	var off int64
	for {
		op, rev, key, val, n, err := readRecord(r, body)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			st, serr := s.f.Stat()
			if serr != nil {
				return serr
			}
			s.log.Warn("cutting a torn or corrupt tail off the log store", "path", s.opts.Path, "at", off, "bytes", st.Size()-off)
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
	}
	if op == opDelete {
		delete(s.m, key)
		return
	}
	s.m[key] = &item{val: append([]byte(nil), val...), ver: rev}
	s.live += n
}
