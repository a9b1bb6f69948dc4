package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCheckAddr(t *testing.T) {
	t.Parallel()
	p := New(Options{
		Allow:      []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.0/8")},
		Own:        []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080"), netip.MustParseAddrPort("0.0.0.0:9090")},
		LocalAddrs: []netip.Addr{netip.MustParseAddr("203.0.113.7")},
	})
	for addr, want := range map[string]string{
		"93.184.216.34:443":           "",
		"[2606:4700::1111]:443":       "",
		"10.1.2.3:80":                 "", // allowed network
		"127.0.0.1:5000":              "", // allowed (tests)
		"10.2.0.1:80":                 "private",
		"192.168.1.1:80":              "private",
		"172.31.0.1:80":               "private",
		"169.254.169.254:80":          "link-local",
		"[fe80::1]:80":                "link-local",
		"[fd00:ec2::254]:80":          "private",
		"100.100.100.200:80":          "special-purpose",
		"0.0.0.0:80":                  "unspecified",
		"[::1]:80":                    "loopback",
		"[::ffff:169.254.169.254]:80": "link-local",
		"[64:ff9b::a9fe:a9fe]:80":     "link-local", // NAT64 of 169.254.169.254
		"224.0.0.1:80":                "multicast",
		"127.0.0.1:8080":              "own listeners",
		"127.0.0.2:9090":              "own listeners", // 0.0.0.0:9090 answers on every loopback address
		"203.0.113.7:9090":            "own listeners",
		"93.184.216.34:9090":          "",
	} {
		err := p.CheckAddr(netip.MustParseAddrPort(addr))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s refused: %v", addr, err)
		case want != "" && (err == nil || !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want a refusal saying %q", addr, err, want)
		}
	}
	p.AddOwn(netip.MustParseAddrPort("127.0.0.1:5000"))
	if err := p.CheckAddr(netip.MustParseAddrPort("127.0.0.1:5000")); err == nil || !strings.Contains(err.Error(), "own listeners") {
		t.Fatalf("a listener added later: %v", err)
	}
	var none *Policy
	if none.CheckAddr(netip.MustParseAddrPort("127.0.0.1:1")) == nil || none.CheckAddr(netip.MustParseAddrPort("8.8.8.8:53")) != nil {
		t.Fatal("a nil policy does not refuse the blocked ranges only")
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	got, err := ParseAllow([]string{"10.0.0.0/8", "127.0.0.1", "10.1.2.3/16"})
	if err != nil || len(got) != 3 || got[1].String() != "127.0.0.1/32" || got[2].String() != "10.1.0.0/16" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseAllow([]string{"10.0.0.0/8", "nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("bad entry: %v", err)
	}
}

// staticResolver answers every name with addrs (a DNS answer, not a
// network double: the policy reads nothing else of it).
type staticResolver []netip.Addr

func (r staticResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	if len(r) == 0 {
		return nil, errors.New("no such host")
	}
	return r, nil
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	p := New(Options{Own: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:443")}, LocalAddrs: []netip.Addr{}})
	ctx := context.Background()
	public := staticResolver{netip.MustParseAddr("93.184.216.34")}
	for raw, r := range map[string]Resolver{"https://hooks.example.com/x": public, "http://93.184.216.34:8080/": nil, "http://unknown.example/": staticResolver{}} {
		if err := p.CheckURL(ctx, raw, r); err != nil {
			t.Errorf("%s refused: %v", raw, err)
		}
	}
	for raw, r := range map[string]Resolver{
		"http://169.254.169.254/latest/meta-data/": nil,
		"http://[::1]:9/":                          nil,
		"http://metadata.internal/":                staticResolver{netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("169.254.169.254")},
		"https://127.0.0.1/":                       nil, // loopback, and port 443 is an own listener
		"nothing":                                  nil,
	} {
		if err := p.CheckURL(ctx, raw, r); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v, want refused", raw, err)
		}
	}
}

// TestDialTimeCheck: a client whose dialer has the policy's Control
// cannot reach a loopback server, whatever name led there; with
// loopback allowed it can.
func TestDialTimeCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	client := func(p *Policy) *http.Client {
		d := &net.Dialer{Timeout: 5 * time.Second, Control: p.Control}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	_, err := client(New(Options{})).Get(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("loopback reached: %v", err)
	}
	resp, err := client(New(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed loopback refused: %v", err)
	}
	resp.Body.Close()
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1/", "https://[::ffff:10.0.0.1]:99/x", "http://[fe80::1%25eth0]/", "http://a:b@c/", "::"} {
		f.Add(s)
	}
	p := New(Options{LocalAddrs: []netip.Addr{}})
	f.Fuzz(func(t *testing.T, raw string) {
		_ = p.CheckURL(context.Background(), raw, staticResolver{})
	})
}
