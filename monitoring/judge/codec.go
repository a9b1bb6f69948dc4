package judge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/wharfhq/wharf/monitoring/event"
)

// stateVersion is the first byte of an encoded State.
const stateVersion = 1

// Bounds checked when decoding, so that a corrupt record cannot make the
// decoder allocate without limit.
const (
	maxStateString = 1 << 12
	maxStateTags   = 1 << 8
	maxStatePoints = 1 << 12
)

var statuses = [...]event.Status{0: "", 1: event.Problem, 2: event.OK, 3: event.NoData}

// AppendBinary appends the encoded state to b (encoding.BinaryAppender):
// version 1, then the endpoint, metric and tags (sorted by key) as
// length-prefixed strings, the step, the last event (status, step, time),
// the good count, and the points as a count, the first time, then for
// each point the time since the previous one (varint) and the value's
// 8 bytes. Eleven points of a series take about 120 bytes.
func (st State) AppendBinary(b []byte) ([]byte, error) {
	return st.AppendBinaryTags(b, nil)
}

// AppendBinaryTags is AppendBinary with st.Tags already encoded by
// AppendTags (nil: encoded here): a caller that keeps a series' tags
// encoded beside the map (which never changes) spares every write the
// walk and sort of the map. tags must be AppendTags of st.Tags.
func (st State) AppendBinaryTags(b, tags []byte) ([]byte, error) {
	b = append(b, stateVersion)
	b = appendString(b, st.Endpoint)
	b = appendString(b, st.Metric)
	if tags == nil {
		b = AppendTags(b, st.Tags)
	} else {
		b = append(b, tags...)
	}
	b = binary.AppendVarint(b, st.Step)
	code := 0
	for i, s := range statuses {
		if s == st.Last.Status {
			code = i
		}
	}
	if code == 0 && st.Last.Status != "" {
		return nil, fmt.Errorf("cannot encode judge state: unknown status %q", st.Last.Status)
	}
	b = append(b, byte(code))
	b = binary.AppendUvarint(b, uint64(max(st.Last.Step, 0)))
	b = binary.AppendVarint(b, st.Last.Time)
	b = binary.AppendUvarint(b, uint64(max(st.Good, 0)))
	b = binary.AppendUvarint(b, uint64(len(st.Points)))
	prev := int64(0)
	for i, p := range st.Points {
		if i == 0 {
			b = binary.AppendVarint(b, p.T)
		} else {
			b = binary.AppendVarint(b, p.T-prev)
		}
		prev = p.T
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.V))
	}
	return b, nil
}

// AppendTags appends the encoding of a state's tags that AppendBinary
// writes: their count, then each key and value as length-prefixed
// strings, sorted by key.
func AppendTags(b []byte, tags map[string]string) []byte {
	var arr [8]string // most series have a few tags: no allocation
	keys := arr[:0]
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, tags[k])
	}
	return b
}

// MarshalBinary encodes the state (see AppendBinary).
func (st State) MarshalBinary() ([]byte, error) { return st.AppendBinary(nil) }

// UnmarshalBinary decodes a state written by AppendBinary; anything else
// (another version, truncated or trailing bytes, out-of-range counts,
// points not strictly increasing in time) is an error and st is unchanged.
func (st *State) UnmarshalBinary(b []byte) error {
	d := decoder{b: b}
	if v := d.byte(); v != stateVersion && d.err == nil {
		return fmt.Errorf("cannot decode judge state: version %d, want %d", v, stateVersion)
	}
	var out State
	out.Endpoint = d.string()
	out.Metric = d.string()
	if n := d.count(maxStateTags); n > 0 {
		out.Tags = make(map[string]string, n)
		for range n {
			k := d.string()
			out.Tags[k] = d.string()
		}
	}
	out.Step = d.varint()
	code := int(d.byte())
	if code >= len(statuses) {
		d.fail("unknown status code %d", code)
	} else {
		out.Last.Status = statuses[code]
	}
	out.Last.Step = int(d.count(math.MaxInt32))
	out.Last.Time = d.varint()
	out.Good = int(d.count(math.MaxInt32))
	if n := d.count(maxStatePoints); n > 0 && d.err == nil {
		out.Points = make([]Sample, 0, n)
		for i := range n {
			t := d.varint()
			if i > 0 {
				if t <= 0 {
					d.fail("point %d is not after the one before", i)
				}
				t += out.Points[i-1].T
			}
			out.Points = append(out.Points, Sample{T: t, V: math.Float64frombits(d.uint64())})
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return d.err
	}
	*st = out
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads the encoded state, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("cannot decode judge state: truncated")

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("cannot decode judge state: "+format, args...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) < 1 {
		d.short()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) short() {
	if d.err == nil {
		d.err = errShort
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.short()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.short()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) count(limit uint64) int {
	v := d.uvarint()
	if v > limit {
		d.fail("count %d above %d", v, limit)
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	n := d.count(maxStateString)
	if d.err != nil {
		return ""
	}
	if len(d.b) < n {
		d.short()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) uint64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.short()
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}
