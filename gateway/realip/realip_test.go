package realip

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func mustNew(t testing.TB, opts Options) *Resolver {
	t.Helper()
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func hdrs(ss ...string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func TestParseEntry(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("1", 100)
	tests := []struct {
		in   string
		want string // "" = rejected
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"  1.2.3.4\t", "1.2.3.4"},
		{"1.2.3.4:5678", "1.2.3.4"},
		{"1.2.3.4:0", "1.2.3.4"},
		{"1.2.3.4:65535", "1.2.3.4"},
		{"1.2.3.4:65536", ""},
		{"1.2.3.4:", ""},
		{"1.2.3.4:x", ""},
		{"1.2.3.4:123456", ""},
		{"2001:db8::1", "2001:db8::1"},
		{" 2001:DB8::1 ", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"[2001:db8::1]:", ""},
		{"[2001:db8::1]443", ""},
		{"[2001:db8::1", ""},
		{"[1.2.3.4]:80", ""},
		{"[::ffff:1.2.3.4]:80", "1.2.3.4"},
		{"fe80::1%eth0", "fe80::1"},
		{"[fe80::1%eth0]:443", "fe80::1"},
		{"fe80::1%", ""},
		{"%eth0", ""},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"::ffff:102:304", "1.2.3.4"},
		{"::", "::"},
		{"::1", "::1"},
		{"unknown", ""},
		{"_hidden", ""},
		{"", ""},
		{"   ", ""},
		{long, ""},
		{"1.2.3.4" + strings.Repeat(" ", 100), "1.2.3.4"}, // trimmed first
		{"01.2.3.4", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"1.2.3.4 5.6.7.8", ""},
		{"2001:db8::1::2", ""},
		{"2001:db8:0:0:0:0:0:0:1", ""},
		{"12345::1", ""},
		{"\"1.2.3.4\"", ""},
	}
	for _, tt := range tests {
		got, ok := parseEntry([]byte(tt.in))
		if tt.want == "" {
			if ok {
				t.Errorf("parseEntry(%q) = %v, want rejected", tt.in, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(tt.want) {
			t.Errorf("parseEntry(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
}

func TestClientIP(t *testing.T) {
	t.Parallel()
	r := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8", "2001:db8:ffff::/48", "::ffff:172.16.0.0/108")})
	tests := []struct {
		name string
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer no xff", "203.0.113.9", nil, "203.0.113.9"},
		{"spoofing: untrusted peer xff ignored", "203.0.113.9", []string{"1.1.1.1"}, "203.0.113.9"},
		{"spoofing: untrusted peer claims trusted", "203.0.113.9", []string{"10.0.0.1"}, "203.0.113.9"},
		{"trusted peer no xff", "10.0.0.1", nil, "10.0.0.1"},
		{"trusted peer empty header", "10.0.0.1", []string{""}, "10.0.0.1"},
		{"single hop", "10.0.0.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client spoof left of real", "10.0.0.1", []string{"6.6.6.6, 198.51.100.7"}, "198.51.100.7"},
		{"three trusted hops", "10.0.0.1", []string{"198.51.100.7, 10.1.1.1, 10.2.2.2, 10.3.3.3"}, "198.51.100.7"},
		{"all trusted: leftmost", "10.0.0.1", []string{"10.9.9.9, 10.1.1.1, 10.2.2.2"}, "10.9.9.9"},
		{"multiple instances, last instance last entry first", "10.0.0.1", []string{"6.6.6.6", "198.51.100.7, 10.1.1.1", "10.2.2.2"}, "198.51.100.7"},
		{"multiple instances untrusted in last", "10.0.0.1", []string{"1.1.1.1", "2.2.2.2"}, "2.2.2.2"},
		{"multiple instances all trusted", "10.0.0.1", []string{"10.5.5.5", "10.6.6.6"}, "10.5.5.5"},
		{"junk rightmost: peer", "10.0.0.1", []string{"6.6.6.6, unknown"}, "10.0.0.1"},
		{"junk after trusted hop: that hop", "10.0.0.1", []string{"6.6.6.6, _hidden, 10.7.7.7"}, "10.7.7.7"},
		{"empty element is junk", "10.0.0.1", []string{"6.6.6.6,,10.7.7.7"}, "10.7.7.7"},
		{"trailing comma is junk", "10.0.0.1", []string{"6.6.6.6,"}, "10.0.0.1"},
		{"overlong is junk", "10.0.0.1", []string{"6.6.6.6, " + strings.Repeat("a", 200) + ", 10.7.7.7"}, "10.7.7.7"},
		{"junk in earlier instance", "10.0.0.1", []string{"6.6.6.6, garbage", "10.7.7.7"}, "10.7.7.7"},
		{"ipv4 with port", "10.0.0.1", []string{"198.51.100.7:5678"}, "198.51.100.7"},
		{"ipv6", "10.0.0.1", []string{"2001:db8::1"}, "2001:db8::1"},
		{"bracketed ipv6 port", "10.0.0.1", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"ipv6 zone dropped", "10.0.0.1", []string{"fe80::1%eth0"}, "fe80::1"},
		{"mapped in xff unmapped", "10.0.0.1", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"mapped trusted hop in xff skipped", "10.0.0.1", []string{"198.51.100.7, ::ffff:10.1.1.1"}, "198.51.100.7"},
		{"mapped peer trusted", "::ffff:10.0.0.1", []string{"198.51.100.7"}, "198.51.100.7"},
		{"mapped peer untrusted returned unmapped", "::ffff:203.0.113.9", []string{"1.1.1.1"}, "203.0.113.9"},
		{"mapped trusted prefix matches v4 peer", "172.16.0.5", []string{"198.51.100.7"}, "198.51.100.7"},
		{"mapped trusted prefix boundary", "172.32.0.5", []string{"198.51.100.7"}, "172.32.0.5"},
		{"ipv6 trusted peer and hops", "2001:db8:ffff::1", []string{"2001:db8:1::5, 2001:db8:ffff::2"}, "2001:db8:1::5"},
		{"ipv6 peer with zone", "2001:db8:ffff::1%eth0", []string{"198.51.100.7"}, "198.51.100.7"},
		{"spaces and tabs", "10.0.0.1", []string{" \t198.51.100.7 ,\t10.1.1.1 "}, "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.ClientIP(netip.MustParseAddr(tt.peer), hdrs(tt.xff...))
			if want := netip.MustParseAddr(tt.want); got != want {
				t.Errorf("ClientIP(%s, %q) = %v, want %v", tt.peer, tt.xff, got, want)
			}
		})
	}
}

func TestNoTrustedProxies(t *testing.T) {
	t.Parallel()
	r := mustNew(t, Options{})
	peer := netip.MustParseAddr("127.0.0.1")
	if got := r.ClientIP(peer, hdrs("1.2.3.4")); got != peer {
		t.Fatalf("got %v, want peer", got)
	}
	if got := r.ClientIP(netip.Addr{}, hdrs("1.2.3.4")); got.IsValid() {
		t.Fatalf("zero peer: got %v", got)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{-1, 129} {
		if _, err := New(Options{IPv6Prefix: bits}); err == nil {
			t.Errorf("IPv6Prefix %d: want error", bits)
		}
	}
	if _, err := New(Options{TrustedProxies: []netip.Prefix{{}}}); err == nil {
		t.Error("invalid prefix: want error")
	}
	r := mustNew(t, Options{TrustedProxies: prefixes("::ffff:10.0.0.0/104", "10.0.0.0/8", "::/0", "192.168.1.7/24")})
	got := r.TrustedProxies()
	want := prefixes("10.0.0.0/8", "::/0", "0.0.0.0/0", "192.168.1.0/24")
	if len(got) != len(want) {
		t.Fatalf("TrustedProxies = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("TrustedProxies = %v, want %v", got, want)
		}
	}
	if !r.Trusted(netip.MustParseAddr("8.8.8.8")) {
		t.Error("::/0 must also trust IPv4 (mapped) peers")
	}
	if r.IPv6Prefix() != 64 {
		t.Errorf("default IPv6Prefix = %d", r.IPv6Prefix())
	}
}

func TestTrusted(t *testing.T) {
	t.Parallel()
	r := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8", "192.168.1.1/32", "2001:db8::/32", "fd00::1/128")})
	for s, want := range map[string]bool{
		"10.255.255.255":         true,
		"11.0.0.0":               false,
		"192.168.1.1":            true,
		"192.168.1.2":            false,
		"::ffff:10.1.2.3":        true,
		"2001:db8:1234::1":       true,
		"2001:db9::1":            false,
		"fd00::1":                true,
		"fd00::2":                false,
		"::ffff:192.168.1.1":     true,
		"::10.1.2.3":             false, // IPv4-compatible is not mapped
		"2001:db8::1%eth0":       true,
		"ffff:ffff:ffff:ffff::1": false,
	} {
		if got := r.Trusted(netip.MustParseAddr(s)); got != want {
			t.Errorf("Trusted(%s) = %v, want %v", s, got, want)
		}
	}
	if r.Trusted(netip.Addr{}) {
		t.Error("zero Addr trusted")
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
	r := mustNew(t, Options{})
	k := func(s string) netip.Prefix { return r.Key(netip.MustParseAddr(s)) }
	ak := func(s string) []byte { return r.AppendKey(nil, netip.MustParseAddr(s)) }

	if k("2001:db8:1:2::1") != k("2001:db8:1:2:ffff:ffff:ffff:ffff") {
		t.Error("same /64 must give the same Key")
	}
	if !bytes.Equal(ak("2001:db8:1:2::1"), ak("2001:db8:1:2:ffff:ffff:ffff:ffff")) {
		t.Error("same /64 must give the same AppendKey")
	}
	if k("2001:db8:1:2::1") == k("2001:db8:1:3::1") {
		t.Error("different /64 must give different Keys")
	}
	if bytes.Equal(ak("2001:db8:1:2::1"), ak("2001:db8:1:3::1")) {
		t.Error("different /64 must give different AppendKeys")
	}
	if got, want := k("2001:db8:1:2::1"), netip.MustParsePrefix("2001:db8:1:2::/64"); got != want {
		t.Errorf("Key = %v, want %v", got, want)
	}
	if got, want := k("1.2.3.4"), netip.MustParsePrefix("1.2.3.4/32"); got != want {
		t.Errorf("Key = %v, want %v", got, want)
	}
	if k("::ffff:1.2.3.4") != k("1.2.3.4") || !bytes.Equal(ak("::ffff:1.2.3.4"), ak("1.2.3.4")) {
		t.Error("mapped and plain IPv4 must share a key")
	}
	if k("1.2.3.4") == k("1.2.3.5") || bytes.Equal(ak("1.2.3.4"), ak("1.2.3.5")) {
		t.Error("IPv4 must be keyed per /32")
	}
	if k("fe80::1%eth0") != k("fe80::1") {
		t.Error("zone must not matter")
	}
	if got := ak("2001:db8:1:2:3:4:5:6"); len(got) != KeyLen || got[16] != 64 ||
		!bytes.Equal(got[:16], netip.MustParseAddr("2001:db8:1:2::").AsSlice()) {
		t.Errorf("AppendKey v6 = %x", got)
	}
	if got := ak("1.2.3.4"); len(got) != KeyLen || got[16] != 32 || !bytes.Equal(got[12:16], []byte{1, 2, 3, 4}) || got[10] != 0xff {
		t.Errorf("AppendKey v4 = %x", got)
	}
	if got := r.AppendKey([]byte("x"), netip.Addr{}); len(got) != 1+KeyLen || r.Key(netip.Addr{}).IsValid() {
		t.Errorf("AppendKey zero = %x", got)
	}

	r48 := mustNew(t, Options{IPv6Prefix: 48})
	if r48.Key(netip.MustParseAddr("2001:db8:1:2::1")) != r48.Key(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("/48: same /48 must share a key")
	}
	r128 := mustNew(t, Options{IPv6Prefix: 128})
	if r128.Key(netip.MustParseAddr("2001:db8::1")) == r128.Key(netip.MustParseAddr("2001:db8::2")) {
		t.Error("/128: distinct addresses must differ")
	}
}

func TestAppendKeyNoAlloc(t *testing.T) {
	r := mustNew(t, Options{})
	buf := make([]byte, 0, 64)
	a := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { buf = r.AppendKey(buf[:0], a) }); n != 0 {
		t.Errorf("AppendKey allocs = %v", n)
	}
}

func TestClientIPNoAlloc(t *testing.T) {
	r := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8", "2001:db8:ffff::/48")})
	peer := netip.MustParseAddr("10.0.0.1")
	xff := hdrs("fe80::1%eth0, [2001:db8::1]:443, 1.2.3.4:80, 10.1.1.1", "::ffff:10.2.2.2")
	if n := testing.AllocsPerRun(100, func() { _ = r.ClientIP(peer, xff) }); n != 0 {
		t.Errorf("ClientIP allocs = %v", n)
	}
}

func TestClientIPForwarded(t *testing.T) {
	t.Parallel()
	r := mustNew(t, Options{TrustedProxies: prefixes("10.0.0.0/8"), UseForwarded: true})
	tests := []struct {
		name string
		peer string
		fwd  []string
		want string
	}{
		{"untrusted peer ignored", "203.0.113.9", []string{"for=1.1.1.1"}, "203.0.113.9"},
		{"simple", "10.0.0.1", []string{"for=192.0.2.60;proto=http;by=203.0.113.43"}, "192.0.2.60"},
		{"case insensitive name", "10.0.0.1", []string{"For=192.0.2.60"}, "192.0.2.60"},
		{"quoted v6 port", "10.0.0.1", []string{`for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
		{"chain", "10.0.0.1", []string{"for=6.6.6.6, for=192.0.2.60;proto=https, for=10.1.1.1"}, "192.0.2.60"},
		{"instances", "10.0.0.1", []string{"for=6.6.6.6", "for=192.0.2.60", `for="10.1.1.1:80"`}, "192.0.2.60"},
		{"unknown stops", "10.0.0.1", []string{"for=6.6.6.6, for=unknown, for=10.1.1.1"}, "10.1.1.1"},
		{"obfuscated stops", "10.0.0.1", []string{"for=6.6.6.6, for=_hidden"}, "10.0.0.1"},
		{"no for stops", "10.0.0.1", []string{"for=6.6.6.6, proto=http"}, "10.0.0.1"},
		{"duplicate for stops", "10.0.0.1", []string{"for=192.0.2.60;for=10.1.1.1"}, "10.0.0.1"},
		{"unterminated quote cannot swallow proxy hop", "10.0.0.1", []string{`for="6.6.6.6, for=192.0.2.60`}, "192.0.2.60"},
		{"escape rejected", "10.0.0.1", []string{`for="1.2.3.4\"", for=10.1.1.1`}, "10.1.1.1"},
		{"all trusted leftmost", "10.0.0.1", []string{"for=10.3.3.3, for=10.1.1.1"}, "10.3.3.3"},
		{"spaces", "10.0.0.1", []string{" for=192.0.2.60 ; proto=http , for=10.1.1.1 "}, "192.0.2.60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.ClientIPForwarded(netip.MustParseAddr(tt.peer), hdrs(tt.fwd...))
			if want := netip.MustParseAddr(tt.want); got != want {
				t.Errorf("ClientIPForwarded(%s, %q) = %v, want %v", tt.peer, tt.fwd, got, want)
			}
		})
	}
}

func TestZoneCharacters(t *testing.T) {
	t.Parallel()
	for in, ok := range map[string]bool{
		"fe80::1%eth0":       true,
		"fe80::1%en0.100":    true,
		"[fe80::1%wl-p_1]:1": true,
		"fe80::1%25":         true,
		`::%"00100`:          false,
		"fe80::1%a b":        false,
		"[fe80::1%a,]:1":     false,
		"fe80::1%":           false,
	} {
		if _, got := parseEntry([]byte(in)); got != ok {
			t.Errorf("parseEntry(%q) ok = %v, want %v", in, got, ok)
		}
	}
}
