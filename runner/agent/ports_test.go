package agent

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/apiclient"
)

func TestPortPoolHandsOutFreeDistinctPortsInItsRange(t *testing.T) {
	// A small range with one port taken by a listener on 127.0.0.1.
	var busy net.Listener
	var min int
	for base := 21000; base < 31000; base += 10 {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+3))
		if err == nil {
			busy, min = ln, base
			break
		}
	}
	if busy == nil {
		t.Fatal("no port to occupy")
	}
	defer busy.Close()
	pp, err := newPortPool(min, min+5)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pp.take(5)
	if err != nil {
		t.Fatalf("take 5 of 6 with one busy: %v", err)
	}
	seen := map[int]bool{}
	for _, p := range got {
		if p < min || p > min+5 || p == min+3 || seen[p] {
			t.Fatalf("ports %v: want 5 distinct in %d-%d without %d", got, min, min+5, min+3)
		}
		seen[p] = true
	}
	if _, err := pp.take(1); err == nil {
		t.Fatal("a 6th port was handed out while all were reserved or busy")
	}
	pp.give(got[2])
	again, err := pp.take(1)
	if err != nil || len(again) != 1 || again[0] != got[2] {
		t.Fatalf("after giving %d back: %v, %v", got[2], again, err)
	}
	if none, err := pp.take(0); err != nil || len(none) != 0 {
		t.Fatalf("take 0: %v, %v", none, err)
	}
}

func TestPortPoolRangeIsChecked(t *testing.T) {
	for _, r := range [][2]int{{80, 2000}, {30000, 20000}, {60000, 70000}} {
		if _, err := newPortPool(r[0], r[1]); err == nil {
			t.Errorf("range %d-%d accepted", r[0], r[1])
		}
	}
	api, err := apiclient.New("http://127.0.0.1:1", "unused")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{HostID: "h", DataDir: t.TempDir(), API: api, NSQDAddrs: []string{"127.0.0.1:1"}, PortMin: 5, PortMax: 6})
	if err == nil || !strings.Contains(err.Error(), "port range 5-6") {
		t.Errorf("New with ports 5-6: %v", err)
	}
}

func TestParsePortRange(t *testing.T) {
	lo, hi, err := parsePortRange("32768\t60999\n")
	if err != nil || lo != 32768 || hi != 60999 {
		t.Fatalf("got %d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"", "1", "a b", "1 b", "1 2 3"} {
		if _, _, err := parsePortRange(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
