// Command benchutil holds the small helpers of the gateway side-by-side
// benchmark (bench/gateway/run.sh):
//
//	benchutil cidrs [-n 10000] [-v6 1000] [-seed 1]   deterministic deny list, one CIDR per line
//	benchutil freeports [-n 4]                         distinct free loopback TCP ports, one per line
//
// The deny list is the same for a given -n, -v6 and -seed on every machine
// and Go version (math/rand/v2's PCG is a specified generator). No entry
// covers 127.0.0.0/8 or ::1, so the benchmark's loopback client is never
// denied, yet every request still has to be looked up in a 10,000-entry table.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/wharfhq/wharf/internal/cidr"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "benchutil: %v\n", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: benchutil cidrs|freeports|cert [flags]")
	}
	switch args[0] {
	case "cidrs":
		fs := flag.NewFlagSet("cidrs", flag.ContinueOnError)
		n := fs.Int("n", 10000, "number of CIDRs in total")
		v6 := fs.Int("v6", 1000, "how many of them are IPv6")
		seed := fs.Uint64("seed", 1, "random seed")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		list, err := denyList(*n, *v6, *seed)
		if err != nil {
			return err
		}
		for _, p := range list {
			if _, err := fmt.Fprintln(out, p); err != nil {
				return err
			}
		}
		return nil
	case "freeports":
		fs := flag.NewFlagSet("freeports", flag.ContinueOnError)
		n := fs.Int("n", 1, "number of distinct ports")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ports, err := freePorts(*n)
		if err != nil {
			return err
		}
		for _, p := range ports {
			if _, err := fmt.Fprintln(out, p); err != nil {
				return err
			}
		}
		return nil
	case "cert":
		fs := flag.NewFlagSet("cert", flag.ContinueOnError)
		dir := fs.String("dir", ".", "directory for cert.pem and key.pem")
		name := fs.String("name", "bench.test", "DNS name of the certificate")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return writeCert(*dir, *name)
	}
	return fmt.Errorf("unknown command %q (want cidrs, freeports or cert)", args[0])
}

var (
	loop4 = netip.MustParsePrefix("127.0.0.0/8")
	loop6 = netip.MustParseAddr("::1")
)

// denyList returns n distinct CIDRs, v6 of them IPv6, interleaved in a fixed
// pseudo-random order:
//   - IPv4 /16../32 with a first octet in 1..223 other than 127;
//   - IPv6 inside 2000::/3 (global unicast), /32../64 or a single /128 host.
//
// Every entry is checked with Wharf's own CIDR parser (internal/cidr), which
// is what the gateway's config loader uses, and must print back unchanged.
func denyList(n, v6 int, seed uint64) ([]netip.Prefix, error) {
	if n < 0 || v6 < 0 || v6 > n {
		return nil, fmt.Errorf("need 0 <= v6 <= n, got n=%d v6=%d", n, v6)
	}
	r := rand.New(rand.NewPCG(seed, 0x5761726642656e63)) // "WarfBenc"
	seen := make(map[netip.Prefix]bool, n)
	out := make([]netip.Prefix, 0, n)
	left4, left6 := n-v6, v6
	for left4+left6 > 0 {
		var p netip.Prefix
		want6 := r.IntN(left4+left6) < left6
		if want6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.UintN(256))
			}
			b[0] = 0x20 | b[0]&0x1f // 2000::/3
			bits := 32 + r.IntN(33) // /32../64
			if r.IntN(4) == 0 {
				bits = 128
			}
			p = netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
		} else {
			first := 1 + r.IntN(223)
			if first == 127 {
				continue
			}
			b := [4]byte{byte(first), byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))}
			p = netip.PrefixFrom(netip.AddrFrom4(b), 16+r.IntN(17)).Masked()
		}
		if seen[p] {
			continue
		}
		if p.Overlaps(loop4) || p.Contains(loop6) {
			return nil, fmt.Errorf("internal error: %s covers loopback", p)
		}
		if q, err := cidr.Parse(p.String()); err != nil || q != p {
			return nil, fmt.Errorf("internal error: Wharf's parser reads %s as %v (%v)", p, q, err)
		}
		seen[p] = true
		out = append(out, p)
		if want6 {
			left6--
		} else {
			left4--
		}
	}
	return out, nil
}

// freePorts binds n loopback ports at once (so they are distinct), then
// releases them. Another process could take one before the caller binds it;
// on a benchmark machine that is unlikely, and the caller fails loudly if so.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cannot find a free port: %w", err)
		}
		lns = append(lns, ln)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	return ports, nil
}
