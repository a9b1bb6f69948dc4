package proxy

import (
	"fmt"
	"testing"

	"github.com/wharfhq/wharf/gateway/balance"
	"github.com/wharfhq/wharf/gateway/rooms"
)

func roomService(t *testing.T) *Service {
	t.Helper()
	svc, err := NewService(ServiceConfig{Name: "shop",
		Instances: []string{"127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:2001", "127.0.0.1:2002", "127.0.0.1:3001"},
		Rooms:     []string{"bj", "bj", "sh", "sh", ""}})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// picks counts, per room, where n picks of svc go.
func picks(svc *Service, n int, key func(i int) []byte) map[string]int {
	got := map[string]int{}
	for i := range n {
		var k []byte
		if key != nil {
			k = key(i)
		}
		idx := svc.pick(svc.eligible(make(balance.Mask, 1), make(balance.Mask, 1)), k)
		svc.release(idx)
		got[svc.RoomOf(idx)]++
	}
	return got
}

func TestRoomPlanSendsTrafficToTheChosenRooms(t *testing.T) {
	svc := roomService(t)
	if got := picks(svc, 500, nil); got[""] == 0 || got["bj"] == 0 || got["sh"] == 0 {
		t.Fatalf("without a plan every instance shares the traffic: %v", got)
	}
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 1, "sh": 0}), false)
	if got := picks(svc, 500, nil); got["bj"] != 500 {
		t.Fatalf("bj=1 sh=0: %v", got)
	}
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 0.2, "sh": 0.8}), false)
	got := picks(svc, 5000, nil)
	if got[""] != 0 || got["bj"] < 800 || got["bj"] > 1200 || got["sh"] < 3800 {
		t.Fatalf("bj=0.2 sh=0.8: %v", got)
	}
	svc.SetRooms(nil, false)
	if got := picks(svc, 500, nil); got[""] == 0 {
		t.Fatalf("plan removed: %v", got)
	}
}

func TestRoomPlanSpillsWhenTheRoomHasNothingEligible(t *testing.T) {
	svc := roomService(t)
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 0.9, "sh": 0.1}), false)
	for range 10 { // eject both bj instances
		svc.ej.Report(0, false)
		svc.ej.Report(1, false)
	}
	if !svc.Ejected(0) || !svc.Ejected(1) {
		t.Fatal("bj instances not ejected")
	}
	if got := picks(svc, 300, nil); got["sh"] != 300 {
		t.Fatalf("bj ejected: every pick should go to sh: %v", got)
	}
	h := svc.RoomHealth()
	if h["bj"] != (rooms.RoomHealth{Healthy: 0, Total: 2}) || h["sh"] != (rooms.RoomHealth{Healthy: 2, Total: 2}) || len(h) != 2 {
		t.Fatalf("room health %v", h)
	}
}

func TestStickyRoomPlanKeepsAClientInItsRoom(t *testing.T) {
	svc := roomService(t)
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 0.5, "sh": 0.5}), true)
	for c := range 50 {
		key := fmt.Appendf(nil, "10.0.0.%d", c)
		got := picks(svc, 20, func(int) []byte { return key })
		if len(got) != 1 {
			t.Fatalf("client %s bounced between rooms: %v", key, got)
		}
	}
	got := picks(svc, 2000, func(i int) []byte { return fmt.Appendf(nil, "10.1.%d.%d", i/256, i%256) })
	if got["bj"] < 800 || got["sh"] < 800 {
		t.Fatalf("sticky choice not balanced over clients: %v", got)
	}
}

func TestRoomlessServiceIgnoresPlans(t *testing.T) {
	svc, err := NewService(ServiceConfig{Name: "x", Instances: []string{"127.0.0.1:1", "127.0.0.1:2"}})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 1}), false)
	if svc.plan.Load() != nil || svc.HasRooms() {
		t.Fatal("a service without rooms took a plan")
	}
}

func TestFailoverRetryStaysInRoomsWithTraffic(t *testing.T) {
	good := startUpstream(t, named200("sh"))
	standby := startUpstream(t, named200("gz"))
	bad := refusedAddr(t)
	svc, err := NewService(ServiceConfig{Name: "shop", Instances: []string{bad, standby.addr, good.addr}, Rooms: []string{"bj", "gz", "sh"}})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 1, "gz": 0, "sh": 0.000001}), false)
	f := startFront(t, NewTransport(Options{}).NewRoute(svc, RouteConfig{}))
	for range 20 {
		st, body := get(t, f.addr, "/")
		if st != 200 || string(body) != "sh" {
			t.Fatalf("GET: %d %q (the retry must skip the standby room gz)", st, body)
		}
	}
	if standby.requests.Load() != 0 {
		t.Fatalf("standby room got %d requests", standby.requests.Load())
	}
}

func BenchmarkPickWithRooms(b *testing.B) {
	svc, err := NewService(ServiceConfig{Name: "shop",
		Instances: []string{"127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:2001", "127.0.0.1:2002"},
		Rooms:     []string{"bj", "bj", "sh", "sh"}})
	if err != nil {
		b.Fatal(err)
	}
	svc.SetRooms(rooms.NewChooser(rooms.Distribution{"bj": 0.3, "sh": 0.7}), false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var mb, hb [4]uint64
		for pb.Next() {
			i := svc.pick(svc.eligible(mb[:], hb[:]), nil)
			svc.release(i)
		}
	})
}
