// Package ring is Open-Falcon's consistent hash (falcon-plus's transfer
// uses github.com/toolkits/consistent), reproduced exactly so that a key
// lands on the same member as in Falcon: each member gets `replicas`
// points on a circle of uint32, the i-th at crc32(strconv.Itoa(i)+member)
// (IEEE); a key goes to the member of the first point strictly greater
// than crc32(key), wrapping to the first point. Members are cluster keys
// (names such as "shard-3"), never addresses, so a member moving to
// another host keeps its keys. Where two points collide, the member added
// later owns it (Falcon adds its members in map order, so it is random
// there). A Ring is immutable and safe for concurrent use.
package ring

import (
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"unsafe"
)

// DefaultReplicas is Falcon's default number of virtual points per member.
const DefaultReplicas = 500

// Ring maps keys to members.
type Ring struct {
	members []string
	hashes  []uint32 // sorted
	owner   []int32  // owner[i] is the member index of hashes[i]
	// first[b] is the index of the first hash whose top bits are at least
	// b (len(hashes) when none): a lookup starts there instead of a
	// binary search, and scans the few hashes of its bucket.
	first []int32
	shift uint
}

// New builds a ring of members (in this order) with replicas points each.
func New(replicas int, members []string) (*Ring, error) {
	if replicas <= 0 {
		return nil, fmt.Errorf("cannot build ring: replicas must be above 0, got %d", replicas)
	}
	if len(members) == 0 {
		return nil, errors.New("cannot build ring: no members")
	}
	circle := make(map[uint32]int32, replicas*len(members))
	seen := make(map[string]bool, len(members))
	for m, name := range members {
		if seen[name] {
			return nil, fmt.Errorf("cannot build ring: member %q twice", name)
		}
		seen[name] = true
		for i := range replicas {
			circle[Hash(strconv.Itoa(i)+name)] = int32(m)
		}
	}
	r := &Ring{members: slices.Clone(members), hashes: make([]uint32, 0, len(circle))}
	for h := range circle {
		r.hashes = append(r.hashes, h)
	}
	slices.Sort(r.hashes)
	r.owner = make([]int32, len(r.hashes))
	for i, h := range r.hashes {
		r.owner[i] = circle[h]
	}
	r.index()
	return r, nil
}

// Hash is the ring's hash of a key: crc32 IEEE of its bytes.
func Hash(key string) uint32 {
	// crc32 only reads the bytes: view the string's bytes without a copy
	// (a []byte conversion would allocate, the slice escapes into crc32).
	return crc32.ChecksumIEEE(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// Members returns the members in the order given to New.
func (r *Ring) Members() []string { return slices.Clone(r.members) }

// Get returns the member that owns key.
func (r *Ring) Get(key string) string { return r.members[r.Index(key)] }

// Index returns the position (in Members) of the member that owns key.
func (r *Ring) Index(key string) int { return r.IndexOfHash(Hash(key)) }

// IndexBytes is Index for a key held as bytes.
func (r *Ring) IndexBytes(key []byte) int { return r.IndexOfHash(crc32.ChecksumIEEE(key)) }

// IndexOfHash returns the member owning the first point strictly greater
// than h, wrapping.
func (r *Ring) IndexOfHash(h uint32) int {
	i := int(r.first[h>>r.shift])
	for i < len(r.hashes) && r.hashes[i] <= h {
		i++
	}
	if i == len(r.hashes) {
		i = 0
	}
	return int(r.owner[i])
}

// index builds first, with about one hash per bucket (at least 16 and at
// most 65,536 buckets).
func (r *Ring) index() {
	bits := uint(4)
	for bits < 16 && 1<<bits < len(r.hashes) {
		bits++
	}
	r.shift = 32 - bits
	r.first = make([]int32, 1<<bits)
	i := 0
	for b := range r.first {
		for i < len(r.hashes) && r.hashes[i]>>r.shift < uint32(b) {
			i++
		}
		r.first[b] = int32(i)
	}
}
