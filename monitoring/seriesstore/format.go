package seriesstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"

	"github.com/wharfhq/wharf/monitoring/rrd"
)

// Layout of a series (a slot of a segment file, or a file of the old
// layout): a header region of headerSize bytes, then the rows of every
// archive, archive after archive, as little-endian float64.
//
//	header region: magic "WRRDSER1" | crc32c(body) u32 | len(body) u32 | body | zero padding
//	body:          version u16 | key | counter type | spec | state   (see appendBody)
const (
	headerSize   = 4096
	pageSize     = 4096
	headerPrefix = 16
	magic        = "WRRDSER1"
	formatV1     = 1
	// MaxKeyLen bounds a series key (Falcon's PK: endpoint/metric/tags).
	MaxKeyLen = 1024
)

// checksum is CRC-32C (Castagnoli), the checksum of headers and records.
func checksum(b []byte) uint32 {
	return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
}

// errCorrupt marks a header or record whose checksum or shape is wrong.
var errCorrupt = errors.New("corrupt")

// header is what a series file says about itself besides its rows.
type header struct {
	Key string
	// CounterType is the type the first point was pushed with (COUNTER
	// and DERIVE share a spec; listings show what was pushed).
	CounterType rrd.DSType
	Spec        rrd.Spec
	State       rrd.State
}

// appendBody encodes h as a header body.
func appendBody(b []byte, h *header) []byte {
	le := binary.LittleEndian
	b = le.AppendUint16(b, formatV1)
	b = le.AppendUint16(b, uint16(len(h.Key)))
	b = append(b, h.Key...)
	b = append(b, byte(h.CounterType))
	s := &h.Spec
	b = le.AppendUint64(b, uint64(s.Step))
	b = le.AppendUint64(b, uint64(s.Heartbeat))
	b = append(b, byte(s.Type))
	b = le.AppendUint64(b, math.Float64bits(s.Min))
	b = le.AppendUint64(b, math.Float64bits(s.Max))
	b = append(b, byte(len(s.Archives)))
	for _, a := range s.Archives {
		b = append(b, byte(a.CF))
		b = le.AppendUint64(b, uint64(a.PDPs))
		b = le.AppendUint64(b, uint64(a.Rows))
		b = le.AppendUint64(b, math.Float64bits(a.XFF))
	}
	st := &h.State
	b = le.AppendUint64(b, uint64(st.LastUp))
	known := byte(0)
	if st.LastKnown {
		known = 1
	}
	b = append(b, known)
	b = le.AppendUint64(b, uint64(st.LastValue))
	b = le.AppendUint64(b, math.Float64bits(st.PDPValue))
	b = le.AppendUint64(b, uint64(st.PDPUnknown))
	for _, c := range st.CDP {
		b = le.AppendUint64(b, math.Float64bits(c.Value))
		b = le.AppendUint64(b, math.Float64bits(c.Primary))
		b = le.AppendUint64(b, math.Float64bits(c.Secondary))
		b = le.AppendUint64(b, uint64(c.Unknown))
		b = le.AppendUint64(b, uint64(c.CurRow))
	}
	return b
}

// reader decodes little-endian fields, remembering the first shortfall.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *reader) u8() byte     { return r.take(1)[0] }
func (r *reader) u16() uint16  { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *reader) i64() int64   { return int64(binary.LittleEndian.Uint64(r.take(8))) }
func (r *reader) f64() float64 { return math.Float64frombits(binary.LittleEndian.Uint64(r.take(8))) }

// decodeBody is the inverse of appendBody; it validates the spec and the
// state against it, so a decoded header is always safe to update.
func decodeBody(b []byte) (header, error) {
	var h header
	err := decodeBodyInto(b, &h, "")
	return h, err
}

// decodeBodyInto is decodeBody into h, reusing its slices; with a key it
// also checks that the body is that series' (and allocates nothing).
func decodeBodyInto(b []byte, h *header, key string) error {
	r := &reader{b: b}
	if v := r.u16(); v != formatV1 {
		return fmt.Errorf("cannot decode series header: version %d: %w", v, errCorrupt)
	}
	kb := r.take(int(r.u16()))
	if key == "" {
		h.Key = string(kb)
	} else if string(kb) != key {
		return fmt.Errorf("cannot decode series header: it holds another series: %w", errCorrupt)
	} else {
		h.Key = key
	}
	h.CounterType = rrd.DSType(r.u8())
	s := &h.Spec
	s.Step, s.Heartbeat = r.i64(), r.i64()
	s.Type = rrd.DSType(r.u8())
	s.Min, s.Max = r.f64(), r.f64()
	n := int(r.u8())
	if n > rrd.MaxArchives {
		return fmt.Errorf("cannot decode series header: %d archives: %w", n, errCorrupt)
	}
	s.Archives = slices.Grow(s.Archives[:0], n)[:n]
	for i := range s.Archives {
		a := &s.Archives[i]
		a.CF = rrd.CF(r.u8())
		a.PDPs, a.Rows = r.i64(), r.i64()
		a.XFF = r.f64()
	}
	st := &h.State
	st.LastUp = r.i64()
	known := r.u8()
	st.LastKnown = known == 1
	st.LastValue = r.i64()
	st.PDPValue = r.f64()
	st.PDPUnknown = r.i64()
	st.CDP = slices.Grow(st.CDP[:0], n)[:n]
	for i := range st.CDP {
		c := &st.CDP[i]
		c.Value, c.Primary, c.Secondary = r.f64(), r.f64(), r.f64()
		c.Unknown, c.CurRow = r.i64(), r.i64()
	}
	if r.bad || len(r.b) != 0 {
		return fmt.Errorf("cannot decode series header: wrong length: %w", errCorrupt)
	}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("cannot decode series header: %v: %w", err, errCorrupt)
	}
	for i, c := range st.CDP {
		if c.CurRow < 0 || c.CurRow >= s.Archives[i].Rows || c.Unknown < 0 {
			return fmt.Errorf("cannot decode series header: archive %d state out of range: %w", i, errCorrupt)
		}
	}
	if h.CounterType < rrd.Gauge || h.CounterType > rrd.Counter {
		return fmt.Errorf("cannot decode series header: counter type %d: %w", h.CounterType, errCorrupt)
	}
	if st.PDPUnknown < 0 || len(h.Key) == 0 || known > 1 || st.LastUp < 0 || st.LastUp > rrd.MaxTime {
		return fmt.Errorf("cannot decode series header: state out of range: %w", errCorrupt)
	}
	return nil
}

// encodeHeader fills the header region buf (headerSize bytes).
func encodeHeader(buf []byte, h *header) error {
	body := appendBody(buf[headerPrefix:headerPrefix], h)
	if headerPrefix+len(body) > headerSize {
		return fmt.Errorf("cannot encode series header: %d bytes, at most %d", len(body), headerSize-headerPrefix)
	}
	end := headerSize // what may hold bytes of an older body
	if old := int(binary.LittleEndian.Uint32(buf[12:])); string(buf[:8]) == magic && old <= headerSize-headerPrefix {
		end = headerPrefix + max(old, len(body))
	}
	copy(buf, magic)
	binary.LittleEndian.PutUint32(buf[8:], checksum(body))
	binary.LittleEndian.PutUint32(buf[12:], uint32(len(body)))
	clear(buf[headerPrefix+len(body) : end])
	return nil
}

// decodeHeader checks and decodes a header region.
func decodeHeader(buf []byte) (header, error) {
	var h header
	err := decodeHeaderInto(buf, &h, "")
	return h, err
}

// decodeHeaderInto is decodeHeader into h (see decodeBodyInto).
func decodeHeaderInto(buf []byte, h *header, key string) error {
	if len(buf) < headerPrefix || string(buf[:8]) != magic {
		return fmt.Errorf("cannot decode series header: bad magic: %w", errCorrupt)
	}
	n := int(binary.LittleEndian.Uint32(buf[12:]))
	if n > len(buf)-headerPrefix {
		return fmt.Errorf("cannot decode series header: length %d: %w", n, errCorrupt)
	}
	body := buf[headerPrefix : headerPrefix+n]
	if checksum(body) != binary.LittleEndian.Uint32(buf[8:]) {
		return fmt.Errorf("cannot decode series header: checksum mismatch: %w", errCorrupt)
	}
	return decodeBodyInto(body, h, key)
}

// isFree reports whether a header region was never written or was freed
// (all of its prefix zero).
func isFree(buf []byte) bool {
	for _, c := range buf[:headerPrefix] {
		if c != 0 {
			return false
		}
	}
	return true
}

// seriesSize is the bytes one series of spec takes: header region and rows
// (71,680 for Falcon's layout; a series file of the old layout had this size).
func seriesSize(spec *rrd.Spec) int64 {
	return headerSize + 8*spec.TotalRows()
}

// slotSize is seriesSize rounded up to whole pages: the size of the slots
// holding series of spec (73,728 for Falcon's layout).
func slotSize(spec *rrd.Spec) int64 {
	return (seriesSize(spec) + pageSize - 1) / pageSize * pageSize
}
