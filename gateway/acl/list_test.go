package acl

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/cidr"
)

func FuzzTableFromParsedList(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "1.2.3.4", "::ffff:10.0.0.0/104", "::ffff:1.2.3.4", "2001:db8::/32",
		"fe80::1%eth0", "", " ", "::/0", "0.0.0.0/0", "1.2.3.4/33", "::ffff:0:0/80", "::1/128",
	} {
		f.Add(s, "192.168.0.0/16")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ps, err := cidr.ParseList([]string{a, b})
		if err != nil {
			if !strings.Contains(err.Error(), "entry ") {
				t.Fatalf("error without index: %v", err)
			}
			return
		}
		if len(ps) != 2 {
			t.Fatalf("got %d prefixes for 2 entries", len(ps))
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				t.Fatalf("%q,%q: bad prefix %v", a, b, p)
			}
			q, err := cidr.Parse(p.String())
			if err != nil || q != p {
				t.Fatalf("%v does not round-trip: %v %v", p, q, err)
			}
			// A table built from it must contain the prefix's own address.
			if NewTable(nil, []netip.Prefix{p}).Check(p.Addr()) != Denied {
				t.Fatalf("%v: deny table does not deny its own address", p)
			}
		}
	})
}
