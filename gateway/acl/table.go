package acl

import (
	"net/netip"

	"github.com/gaissmai/bart"

	"github.com/wharfhq/wharf/internal/cidr"
)

// Verdict is the result of an ACL check.
type Verdict uint8

const (
	// Allowed: no deny entry matches and every non-empty allow list matches.
	Allowed Verdict = iota
	// Denied: a deny entry matches (or the address is invalid).
	Denied
	// NotAllowed: an allow list is set and the address is not in it.
	NotAllowed
)

// String returns "allowed", "denied" or "not-allowed".
func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "allowed"
	case Denied:
		return "denied"
	case NotAllowed:
		return "not-allowed"
	}
	return "unknown"
}

// Table is a compiled, immutable allow/deny pair. It is safe for concurrent
// use; swap a new Table in (atomic.Pointer) to change the lists. A nil *Table
// is an empty table: it allows everything.
type Table struct {
	allow, deny       *bart.Lite
	allowN, denyN     int
	hasAllow, hasDeny bool
}

// NewTable compiles the lists. Prefixes are normalized as cidr.ParseList does;
// invalid ones are skipped, so pass the output of cidr.ParseList.
func NewTable(allow, deny []netip.Prefix) *Table {
	t := &Table{allow: new(bart.Lite), deny: new(bart.Lite)}
	for _, p := range allow {
		if p, err := cidr.Normalize(p); err == nil {
			t.allow.Insert(p)
		}
	}
	for _, p := range deny {
		if p, err := cidr.Normalize(p); err == nil {
			t.deny.Insert(p)
		}
	}
	t.allowN, t.denyN = t.allow.Size(), t.deny.Size()
	t.hasAllow, t.hasDeny = t.allowN > 0, t.denyN > 0
	return t
}

// Compile parses both lists with cidr.ParseList and compiles them.
func Compile(allow, deny []string) (*Table, error) {
	a, err := cidr.ParseList(allow)
	if err != nil {
		return nil, err
	}
	d, err := cidr.ParseList(deny)
	if err != nil {
		return nil, err
	}
	return NewTable(a, d), nil
}

// Len returns the number of distinct allow and deny prefixes.
func (t *Table) Len() (allow, deny int) {
	if t == nil {
		return 0, 0
	}
	return t.allowN, t.denyN
}

// Check returns the verdict for addr: deny beats allow, and a non-empty allow
// list admits only matching addresses. IPv4-mapped addresses are unmapped; an
// invalid address is Denied (fail closed).
func (t *Table) Check(addr netip.Addr) Verdict {
	if !addr.IsValid() {
		return Denied
	}
	if t == nil {
		return Allowed
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	if t.hasDeny && t.deny.Contains(addr) {
		return Denied
	}
	if t.hasAllow && !t.allow.Contains(addr) {
		return NotAllowed
	}
	return Allowed
}

// Evaluate combines the global table and a route's table (either may be nil):
// a deny in either → Denied; otherwise each non-empty allow list must match,
// else NotAllowed; otherwise Allowed.
func Evaluate(global, route *Table, addr netip.Addr) Verdict {
	if !addr.IsValid() {
		return Denied
	}
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	if global != nil && global.hasDeny && global.deny.Contains(addr) {
		return Denied
	}
	if route != nil && route.hasDeny && route.deny.Contains(addr) {
		return Denied
	}
	if global != nil && global.hasAllow && !global.allow.Contains(addr) {
		return NotAllowed
	}
	if route != nil && route.hasAllow && !route.allow.Contains(addr) {
		return NotAllowed
	}
	return Allowed
}
