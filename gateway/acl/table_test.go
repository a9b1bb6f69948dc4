package acl

import (
	"net/netip"
	"testing"
)

func mustTable(t *testing.T, allow, deny []string) *Table {
	t.Helper()
	tb, err := Compile(allow, deny)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestTableCheck(t *testing.T) {
	t.Parallel()
	tb := mustTable(t, []string{"10.0.0.0/8", "2001:db8::/32"}, []string{"10.6.6.0/24", "2001:db8:bad::/48"})
	for addr, want := range map[string]Verdict{
		"10.1.1.1":         Allowed,
		"10.6.6.6":         Denied,
		"::ffff:10.6.6.6":  Denied, // defensive unmap
		"::ffff:10.1.1.1":  Allowed,
		"11.0.0.1":         NotAllowed,
		"2001:db8::1":      Allowed,
		"2001:db8:bad::1":  Denied,
		"2001:db9::1":      NotAllowed,
		"fe80::1%eth0":     NotAllowed,
		"2001:db8::1%eth0": Allowed,
	} {
		if got := tb.Check(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: got %v, want %v", addr, got, want)
		}
	}
	if got := tb.Check(netip.Addr{}); got != Denied {
		t.Errorf("invalid addr: got %v", got)
	}
	denyOnly := mustTable(t, nil, []string{"1.2.3.4"})
	if denyOnly.Check(netip.MustParseAddr("1.2.3.5")) != Allowed || denyOnly.Check(netip.MustParseAddr("1.2.3.4")) != Denied {
		t.Error("deny-only table")
	}
	var nilT *Table
	if nilT.Check(netip.MustParseAddr("1.2.3.4")) != Allowed {
		t.Error("nil table must allow")
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	global := mustTable(t, []string{"10.0.0.0/8"}, []string{"10.9.0.0/16"})
	route := mustTable(t, []string{"10.1.0.0/16", "10.9.9.0/24"}, []string{"10.1.2.3"})
	denyRoute := mustTable(t, nil, []string{"10.2.0.0/16"})
	cases := []struct {
		g, r *Table
		addr string
		want Verdict
	}{
		{global, route, "10.1.0.1", Allowed},
		{global, route, "10.1.2.3", Denied},     // route deny
		{global, route, "10.9.9.9", Denied},     // global deny beats route allow
		{global, route, "10.2.0.1", NotAllowed}, // in global allow, not in route allow
		{global, route, "11.1.0.1", NotAllowed},
		{global, nil, "10.2.0.1", Allowed},
		{nil, route, "10.1.0.1", Allowed},
		{nil, nil, "8.8.8.8", Allowed},
		{global, denyRoute, "10.2.0.1", Denied},
		{global, denyRoute, "10.3.0.1", Allowed},
		{nil, nil, "", Denied},
	}
	for i, c := range cases {
		var a netip.Addr
		if c.addr != "" {
			a = netip.MustParseAddr(c.addr)
		}
		if got := Evaluate(c.g, c.r, a); got != c.want {
			t.Errorf("case %d %s: got %v, want %v", i, c.addr, got, c.want)
		}
	}
}
