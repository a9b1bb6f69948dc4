package metric

import (
	"bytes"
	"encoding/binary"
	"math"
)

// keyID names a field of a pushed item; keyUnknown is any other key.
type keyID uint8

// The fields of a pushed item, in the order Falcon agents send them.
const (
	keyUnknown keyID = iota
	keyEndpoint
	keyMetric
	keyTimestamp
	keyStep
	keyValue
	keyCounterType
	keyTags
	keyCount
)

// keyNames are the fields' keys as Falcon spells them ("" for keyUnknown).
var keyNames = [keyCount]string{"", "endpoint", "metric", "timestamp", "step", "value", "counterType", "tags"}

// falconOrder is the key expected after each key (after keyUnknown: the
// first) until a push shows its own order: the order of the fields of
// Falcon's MetricValue, as its agents marshal it.
var falconOrder = [keyCount]keyID{
	keyUnknown:     keyEndpoint,
	keyEndpoint:    keyMetric,
	keyMetric:      keyValue,
	keyValue:       keyStep,
	keyStep:        keyCounterType,
	keyCounterType: keyTags,
	keyTags:        keyTimestamp,
	keyTimestamp:   keyEndpoint,
}

// keyMember is a key as agents write it, quoted and followed by the
// colon ("endpoint":), as two little-endian words: first holds its first
// 8 bytes (under firstMask when shorter), last its last 8.
type keyMember struct {
	n           int
	first, last uint64
	firstMask   uint64
}

// keyMembers are the keys' members, for matching a whole member with two
// word compares (keyUnknown's never matches: no body is that long).
var keyMembers = newKeyMembers()

func newKeyMembers() (m [keyCount]keyMember) {
	m[keyUnknown] = keyMember{n: math.MaxInt}
	for k := keyEndpoint; k < keyCount; k++ {
		var w [16]byte
		s := `"` + keyNames[k] + `":`
		copy(w[:], s)
		m[k] = keyMember{n: len(s), first: binary.LittleEndian.Uint64(w[:]), firstMask: ^uint64(0)}
		if len(s) < 8 {
			m[k].firstMask = 1<<(8*len(s)) - 1
		} else {
			m[k].last = binary.LittleEndian.Uint64([]byte(s[len(s)-8:]))
		}
	}
	return m
}

// match reports whether b starts with k's member as agents write it
// ("endpoint":), byte for byte. It needs 8 bytes of b however short the
// member; a short b just takes the general path.
func (m *keyMember) match(b []byte) bool {
	if len(b) < 8 || len(b) < m.n {
		return false
	}
	if binary.LittleEndian.Uint64(b)&m.firstMask != m.first {
		return false
	}
	return m.n <= 8 || binary.LittleEndian.Uint64(b[m.n-8:]) == m.last
}

// fieldKey returns the field k names, matched like encoding/json
// (case-insensitively), or keyUnknown. Keys spelled as Falcon spells them
// match without the case-folding loop.
func fieldKey(k []byte) keyID {
	switch string(k) {
	case "endpoint":
		return keyEndpoint
	case "metric":
		return keyMetric
	case "timestamp":
		return keyTimestamp
	case "step":
		return keyStep
	case "value":
		return keyValue
	case "counterType":
		return keyCounterType
	case "tags":
		return keyTags
	}
	for id := keyEndpoint; id < keyCount; id++ {
		if bytes.EqualFold(k, []byte(keyNames[id])) {
			return id
		}
	}
	return keyUnknown
}
