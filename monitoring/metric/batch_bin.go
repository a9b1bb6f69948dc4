package metric

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"
)

// The binary batch (version 2), the default message of the points topics:
//
//	header   ff 57 42 02   ("\xffWB" and the version; 0xff never starts JSON)
//	point    flags byte, then
//	         endpoint, metric, tags      each a uvarint length and its bytes,
//	                                     left out when the flag says "as the
//	                                     point before"
//	         counter type                only when the flags say "other": a string
//	         step, timestamp             zigzag varints
//	         value                       IEEE 754 bits, 8 bytes little endian
//
// flags: bit 0 endpoint, bit 1 metric, bit 2 tags as the point before;
// bits 3–4 the counter type (0 GAUGE, 1 COUNTER, 2 DERIVE, 3 other); the
// other bits are 0. NaN and infinities keep their bits. It is about a
// third of the JSON version's bytes and needs no scanning, so nsqd, the
// series writer and the judge each move and decode less per point.
const (
	binMagic      = "\xffWB\x02"
	binSameEP     = 1 << 0
	binSameMetric = 1 << 1
	binSameTags   = 1 << 2
	binTypeShift  = 3
	binTypeMask   = 3 << binTypeShift
	binTypeOther  = 3
	binKnownFlags = binSameEP | binSameMetric | binSameTags | binTypeMask
	binEnd        = 0xff // after the last point: a message cut short is an error
	binTrailer    = 5    // binEnd and the point count
	minBinPoint   = 11   // flags, step, time (a byte each), value (8)
	// maxBinString bounds one string of a binary batch (the push
	// rules allow far less: an endpoint of 255 bytes, metric and tags 510).
	maxBinString = 64 << 10
)

// BatchFormat is the layout of the batch messages a publisher writes.
// Consumers read both (DecodeBatch tells them apart by their first bytes).
type BatchFormat int

const (
	// BatchBinary is version 2, the default (see the layout above).
	BatchBinary BatchFormat = iota
	// BatchJSON is version 1, {"v":1,"points":[...]}: for a cluster whose
	// consumers are older than version 2.
	BatchJSON
)

// ParseBatchFormat reads "binary" or "json".
func ParseBatchFormat(s string) (BatchFormat, error) {
	switch s {
	case "binary", "":
		return BatchBinary, nil
	case "json":
		return BatchJSON, nil
	}
	return 0, fmt.Errorf("batch format must be binary or json, got %q", s)
}

// String returns "binary" or "json".
func (f BatchFormat) String() string {
	if f == BatchJSON {
		return "json"
	}
	return "binary"
}

// AppendStart begins a batch message in dst.
func (f BatchFormat) AppendStart(dst []byte) []byte {
	if f == BatchJSON {
		return append(dst, batchHead...)
	}
	return append(dst, binMagic...)
}

// AppendPoint appends p to a batch begun with AppendStart; prev is the
// point appended before it (nil for the first).
func (f BatchFormat) AppendPoint(dst []byte, p, prev *Point) []byte {
	if f == BatchJSON {
		return appendJSONPoint(dst, p, prev == nil)
	}
	return appendBinPoint(dst, p, prev)
}

// AppendEnd closes a batch of n points begun with AppendStart.
func (f BatchFormat) AppendEnd(dst []byte, n int) []byte {
	if f == BatchJSON {
		return append(dst, batchEnd...)
	}
	return binary.LittleEndian.AppendUint32(append(dst, binEnd), uint32(n))
}

// AppendChunk appends to a batch begun with AppendStart a chunk of point
// records made by AppendPoint, the first of them with no point before it;
// first says whether the chunk is the batch's first. Chunks made apart
// (by different pushes) so join into one message.
func (f BatchFormat) AppendChunk(dst, chunk []byte, first bool) []byte {
	if f == BatchJSON && !first {
		dst = append(dst, ',')
	}
	return append(dst, chunk...)
}

// Append appends the whole batch message of points to dst.
func (f BatchFormat) Append(dst []byte, points []Point) []byte {
	dst = f.AppendStart(dst)
	var prev *Point
	for i := range points {
		dst = f.AppendPoint(dst, &points[i], prev)
		prev = &points[i]
	}
	return f.AppendEnd(dst, len(points))
}

func appendBinPoint(dst []byte, p, prev *Point) []byte {
	var flags byte
	if prev != nil {
		if p.Endpoint == prev.Endpoint {
			flags |= binSameEP
		}
		if p.Metric == prev.Metric {
			flags |= binSameMetric
		}
		if p.Tags == prev.Tags {
			flags |= binSameTags
		}
	}
	typ := byte(binTypeOther)
	switch p.CounterType {
	case Gauge:
		typ = 0
	case Counter:
		typ = 1
	case Derive:
		typ = 2
	}
	dst = append(dst, flags|typ<<binTypeShift)
	if flags&binSameEP == 0 {
		dst = appendBinString(dst, p.Endpoint)
	}
	if flags&binSameMetric == 0 {
		dst = appendBinString(dst, p.Metric)
	}
	if flags&binSameTags == 0 {
		dst = appendBinString(dst, p.Tags)
	}
	if typ == binTypeOther {
		dst = appendBinString(dst, p.CounterType)
	}
	dst = binary.AppendVarint(dst, p.Step)
	dst = binary.AppendVarint(dst, p.Time)
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Value))
}

func appendBinString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// isBinaryBatch reports whether b starts like a version 2 batch.
func isBinaryBatch(b []byte) bool {
	return len(b) >= len(binMagic) && string(b[:len(binMagic)]) == binMagic
}

// errBinBatch is the reason of every malformed binary batch.
var errBinBatch = errors.New("malformed binary metric batch")

// batchStrings makes the strings of a decoded batch: with fn when set (it
// must not keep the bytes), else from per-field tables of recent strings.
type batchStrings struct {
	fn     func([]byte) string
	recent [internedFields]recentStrings
}

func (s *batchStrings) get(field int, b []byte) string {
	if s.fn != nil {
		return s.fn(b)
	}
	return s.recent[field].intern(b)
}

// DecodeBatchViews is DecodeBatchInto for a consumer that reads the
// points' strings only while b stays as it is, and copies what it keeps:
// the strings of a binary batch are views of b (no allocation at all); a
// JSON batch's are made as DecodeBatchInto makes them.
func DecodeBatchViews(dst []Point, b []byte) ([]Point, error) {
	if isBinaryBatch(b) {
		strs := batchStrings{fn: viewString}
		return decodeBatchBinary(dst[:0], b, &strs)
	}
	return DecodeBatchInto(dst, b, nil)
}

// viewString is b as a string without a copy: valid while b is unchanged.
func viewString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// decodeBatchBinary appends the points of the binary batch b to dst. A
// truncated or malformed batch is an error naming the point and the byte.
func decodeBatchBinary(dst []Point, b []byte, strs *batchStrings) ([]Point, error) {
	i := len(binMagic)
	first := len(dst)
	if len(b) < len(binMagic)+binTrailer || b[len(b)-binTrailer] != binEnd {
		return nil, fmt.Errorf("cannot decode metric batch: %w: no end", errBinBatch)
	}
	count := int(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if count > (len(b)-len(binMagic)-binTrailer)/minBinPoint {
		return nil, fmt.Errorf("cannot decode metric batch: %w: %d points cannot fit in %d bytes", errBinBatch, count, len(b))
	}
	dst = slices.Grow(dst, count)
	b = b[:len(b)-4] // the count was read
	fail := func(what string) ([]Point, error) {
		return nil, fmt.Errorf("cannot decode metric batch: %w: point %d: %s (at byte %d)", errBinBatch, len(dst)-first, what, i)
	}
	str := func() ([]byte, bool) {
		n, w := binary.Uvarint(b[i:])
		if w <= 0 || n > maxBinString || n > uint64(len(b)-i-w) {
			return nil, false
		}
		s := b[i+w : i+w+int(n)]
		i += w + int(n)
		return s, true
	}
	var prev Point
	for {
		if i >= len(b) {
			return fail("no end")
		}
		flags := b[i]
		i++
		if flags == binEnd {
			if i != len(b) {
				return fail("data after the end")
			}
			if len(dst)-first != count {
				return fail(fmt.Sprintf("the end says %d points", count))
			}
			return dst, nil
		}
		if flags&^binKnownFlags != 0 {
			return fail("unknown flags")
		}
		if len(dst) == first && flags&(binSameEP|binSameMetric|binSameTags) != 0 {
			return fail("the first point refers to a point before it")
		}
		p := prev
		if flags&binSameEP == 0 {
			s, ok := str()
			if !ok {
				return fail("bad endpoint")
			}
			p.Endpoint = strs.get(fieldEndpoint, s)
		}
		if flags&binSameMetric == 0 {
			s, ok := str()
			if !ok {
				return fail("bad metric")
			}
			p.Metric = strs.get(fieldMetric, s)
		}
		if flags&binSameTags == 0 {
			s, ok := str()
			if !ok {
				return fail("bad tags")
			}
			p.Tags = strs.get(fieldTags, s)
		}
		switch (flags & binTypeMask) >> binTypeShift {
		case 0:
			p.CounterType = Gauge
		case 1:
			p.CounterType = Counter
		case 2:
			p.CounterType = Derive
		default:
			s, ok := str()
			if !ok {
				return fail("bad counter type")
			}
			p.CounterType = counterType(s)
		}
		var w int
		if p.Step, w = binary.Varint(b[i:]); w <= 0 {
			return fail("bad step")
		}
		i += w
		if p.Time, w = binary.Varint(b[i:]); w <= 0 {
			return fail("bad timestamp")
		}
		i += w
		if len(b)-i < 8 {
			return fail("bad value")
		}
		p.Value = math.Float64frombits(binary.LittleEndian.Uint64(b[i:]))
		i += 8
		dst = append(dst, p)
		prev = p
	}
}
