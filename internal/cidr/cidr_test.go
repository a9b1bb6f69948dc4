package cidr

import (
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	t.Parallel()
	in := []string{
		"10.0.0.0/8", " 192.168.1.7 ", "10.1.2.3/8", "2001:db8::1", "2001:db8:1:2:3::/64",
		"::ffff:10.0.0.0/104", "::ffff:1.2.3.4", "::ffff:1.2.3.4/128", "0.0.0.0/0", "::/0",
	}
	want := []string{
		"10.0.0.0/8", "192.168.1.7/32", "10.0.0.0/8", "2001:db8::1/128", "2001:db8:1:2::/64",
		"10.0.0.0/8", "1.2.3.4/32", "1.2.3.4/32", "0.0.0.0/0", "::/0",
	}
	got, err := ParseList(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d %q: got %s, want %s", i, in[i], got[i], want[i])
		}
	}
}

func TestParseListErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		list []string
		idx  string
		bad  string
	}{
		{[]string{"10.0.0.0/8", "nope"}, "entry 1", `"nope"`},
		{[]string{""}, "entry 0", "empty"},
		{[]string{"1.2.3.4", "10.0.0.0/33"}, "entry 1", "10.0.0.0/33"},
		{[]string{"fe80::1%eth0"}, "entry 0", "zoned"},
		{[]string{"::ffff:0:0/80"}, "entry 0", "shorter than /96"},
		{[]string{"1.2.3.4/8/9"}, "entry 0", "1.2.3.4/8/9"},
	} {
		_, err := ParseList(tc.list)
		if err == nil {
			t.Errorf("%q: no error", tc.list)
			continue
		}
		if !strings.Contains(err.Error(), tc.idx) || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%q: error %q does not name %q and %q", tc.list, err, tc.idx, tc.bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "1.2.3.4", "::ffff:10.0.0.0/104", "::ffff:1.2.3.4", "2001:db8::/32",
		"fe80::1%eth0", "", " ", "::/0", "0.0.0.0/0", "1.2.3.4/33", "::ffff:0:0/80", "::1/128",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
			t.Fatalf("%q: bad prefix %v", s, p)
		}
		if q, err := Parse(p.String()); err != nil || q != p {
			t.Fatalf("%v does not round-trip: %v %v", p, q, err)
		}
	})
}
