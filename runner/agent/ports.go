package agent

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Default range of the web instances' ports. It lies below Linux's
// ephemeral range (net.ipv4.ip_local_port_range, 32768–60999 by
// default), which outgoing connections take their local ports from: a
// port probed free there could be taken by any connection before the app
// listens on it, and the deploy would fail with "address in use". Nomad's
// dynamic ports default to the same place for the same reason.
const (
	DefaultPortMin = 20000
	DefaultPortMax = 32000
)

// portPool hands out the web instances' ports: each one probed free on
// every address, never one it handed out and was not given back, chosen
// at random in [min, max] so that two agents on one machine rarely probe
// the same port at once.
type portPool struct {
	min, max int

	mu   sync.Mutex
	used map[int]bool
}

func newPortPool(min, max int) (*portPool, error) {
	if min < 1024 || max > 65535 || min > max {
		return nil, fmt.Errorf("port range %d-%d: want 1024 <= min <= max <= 65535", min, max)
	}
	return &portPool{min: min, max: max, used: map[int]bool{}}, nil
}

// take returns n distinct ports, free now and reserved until given back.
func (pp *portPool) take(n int) ([]int, error) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	size := pp.max - pp.min + 1
	out := make([]int, 0, n)
	start := rand.IntN(size)
	for i := 0; i < size && len(out) < n; i++ {
		p := pp.min + (start+i)%size
		if pp.used[p] || !portFree(p) {
			continue
		}
		pp.used[p] = true
		out = append(out, p)
	}
	if len(out) < n {
		for _, p := range out {
			delete(pp.used, p)
		}
		return nil, fmt.Errorf("no %d free ports left in %d-%d", n, pp.min, pp.max)
	}
	return out, nil
}

// give returns ports to the pool.
func (pp *portPool) give(ports ...int) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	for _, p := range ports {
		delete(pp.used, p)
	}
}

// portFree reports whether nothing listens on port, on any address.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// ephemeralOverlap returns the kernel's ephemeral port range when it
// overlaps [min, max] (ok false when it does not or cannot be read).
func ephemeralOverlap(min, max int) (lo, hi int, ok bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, false
	}
	lo, hi, err = parsePortRange(string(b))
	if err != nil || hi < min || lo > max {
		return 0, 0, false
	}
	return lo, hi, true
}

// parsePortRange parses ip_local_port_range's "low<ws>high".
func parsePortRange(s string) (lo, hi int, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, errors.New("want two numbers")
	}
	if lo, err = strconv.Atoi(f[0]); err != nil {
		return 0, 0, err
	}
	if hi, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	return lo, hi, nil
}
