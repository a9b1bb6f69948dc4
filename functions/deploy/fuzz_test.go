package deploy

import (
	"net"
	"testing"

	"github.com/wharfhq/wharf/functions/deploy/wire"
)

// FuzzHeartbeat feeds arbitrary bodies and ids to the heartbeat checks:
// they must not panic, and an accepted host must have a usable task topic.
func FuzzHeartbeat(f *testing.F) {
	f.Add("h1", []byte(`{"id":"h1","room":"bj","labels":["ssd"],"apps":{"shop":{"version":"1.0.0","healthy":true}}}`))
	f.Add("h:1", []byte(`{"id":"h:1"}`))
	f.Add("x", []byte(`{"capacity":-1,"apps":{"Bad":{}}}`))
	f.Add("y", []byte(`{"id":"y"} {}`))
	f.Add("z", []byte(`{"id":"z","advertise":"10.0.0.7"}`))
	f.Add("z", []byte(`{"id":"z","advertise":"::1"}`))
	f.Add("z", []byte(`{"id":"z","advertise":"a:b/c"}`))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		var h wire.Host
		if checkHostID(id) != "" || decodeLenient(body, &h) != nil || checkHost(h) != nil {
			return
		}
		if len(wire.HostTopic(id)) > 64 {
			t.Fatalf("accepted host %q has a topic longer than nsqd allows", id)
		}
		// An accepted advertised address makes instance addresses whose
		// host part is that address again (the registry compares them).
		if h.Advertise != "" {
			if host, _, err := net.SplitHostPort(net.JoinHostPort(h.Advertise, "80")); err != nil || host != h.Advertise {
				t.Fatalf("advertise %q: host %q, %v", h.Advertise, host, err)
			}
		}
	})
}

// FuzzAppOf checks that appOf only accepts ids newID could make.
func FuzzAppOf(f *testing.F) {
	f.Add("shop.20260301T120000.000Z.9f3a1c2b")
	f.Add("shop")
	f.Add(".x")
	f.Add("Shop.x")
	f.Fuzz(func(t *testing.T, id string) {
		app, ok := appOf(id)
		if ok && (!validApp(app) || len(id) > 128 || id[:len(app)+1] != app+".") {
			t.Fatalf("appOf(%q) = %q", id, app)
		}
	})
}
