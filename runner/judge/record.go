package judge

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/wharfhq/wharf/internal/store"
	mjudge "github.com/wharfhq/wharf/monitoring/judge"
)

// recordVersion is the first byte of a state record: 2 adds the judging
// fingerprint and the source of the strategy version the state was judged
// under (1, without them, is still read).
const (
	recordVersion   = 2
	recordVersionV1 = 1
)

// maxPending bounds the events one record may carry (a corrupt length
// must not allocate without limit).
const maxPending = 1 << 16

// record is the stored value of one (strategy, series) state: the judge
// state, the shard of the series (so that Tick and Resolve touch only the
// states of owned shards), and the events decided with that state but not
// yet published. Writing state and pending events in one compare-and-swap
// makes the decision atomic: a judge that stops after the write publishes
// the events on the next load, one that stops before it decides them again
// from the same points.
type record struct {
	Shard   int
	State   mjudge.State
	Pending [][]byte // JSON of monitoring/event.Event, schema v1
	// FP is strategy.JudgingFingerprint of the strategy version the state
	// was judged under (0: unknown, a version 1 record) and Source that
	// version as JSON: enough to close an open problem of a strategy that
	// was deleted or edited while no judge was watching.
	FP     uint64
	Source []byte
}

// appendRecord encodes r after b.
func appendRecord(b []byte, r *record) ([]byte, error) { return appendRecordTags(b, r, nil) }

// appendRecordTags is appendRecord with r.State.Tags already encoded
// (mjudge.AppendTags; nil: encoded here).
func appendRecordTags(b []byte, r *record, tags []byte) ([]byte, error) {
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(r.Shard))
	// The state goes after room for its length, which is then written in
	// front of it (one copy within b instead of a buffer of its own).
	pos := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen64)...)
	b, err := r.State.AppendBinaryTags(b, tags)
	if err != nil {
		return nil, fmt.Errorf("cannot encode judge state: %w", err)
	}
	n := len(b) - pos - binary.MaxVarintLen64
	k := binary.PutUvarint(b[pos:], uint64(n))
	copy(b[pos+k:], b[pos+binary.MaxVarintLen64:])
	b = b[:pos+k+n]
	b = binary.AppendUvarint(b, uint64(len(r.Pending)))
	for _, ev := range r.Pending {
		b = binary.AppendUvarint(b, uint64(len(ev)))
		b = append(b, ev...)
	}
	b = binary.BigEndian.AppendUint64(b, r.FP)
	b = binary.AppendUvarint(b, uint64(len(r.Source)))
	b = append(b, r.Source...)
	return b, nil
}

var errShortRecord = errors.New("cannot decode judge record: truncated")

// decodeRecord decodes a stored record.
func decodeRecord(b []byte) (record, error) {
	var r record
	if len(b) == 0 || (b[0] != recordVersion && b[0] != recordVersionV1) {
		return r, errors.New("cannot decode judge record: unknown version")
	}
	v1 := b[0] == recordVersionV1
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	bytesOf := func() ([]byte, bool) {
		n, ok := next()
		if !ok || n > uint64(len(b)) {
			return nil, false
		}
		out := b[:n:n]
		b = b[n:]
		return out, true
	}
	shard, ok := next()
	if !ok || shard > 1<<20 {
		return r, errShortRecord
	}
	r.Shard = int(shard)
	st, ok := bytesOf()
	if !ok {
		return r, errShortRecord
	}
	if err := r.State.UnmarshalBinary(st); err != nil {
		return r, fmt.Errorf("cannot decode judge state: %w", err)
	}
	n, ok := next()
	if !ok || n > maxPending {
		return r, errShortRecord
	}
	for range n {
		ev, ok := bytesOf()
		if !ok {
			return r, errShortRecord
		}
		r.Pending = append(r.Pending, append([]byte(nil), ev...))
	}
	if !v1 {
		if len(b) < 8 {
			return r, errShortRecord
		}
		r.FP, b = binary.BigEndian.Uint64(b), b[8:]
		src, ok := bytesOf()
		if !ok {
			return r, errShortRecord
		}
		r.Source = append([]byte(nil), src...)
	}
	if len(b) != 0 {
		return r, errors.New("cannot decode judge record: trailing bytes")
	}
	return r, nil
}

// ReadState returns the stored state of the series whose events have
// eventID (monitoring/event.ID), or store.ErrNotFound.
func ReadState(ctx context.Context, st store.Store, eventID string) (mjudge.State, error) {
	e, err := st.Get(ctx, StatePrefix+eventID)
	if err != nil {
		return mjudge.State{}, fmt.Errorf("cannot read judge state %s: %w", eventID, err)
	}
	rec, err := decodeRecord(e.Value)
	if err != nil {
		return mjudge.State{}, err
	}
	return rec.State, nil
}
