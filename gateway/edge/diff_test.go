package edge_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/gateway/edge"
	"github.com/wharfhq/wharf/internal/config"
)

func TestCompareIdenticalIsEmpty(t *testing.T) {
	a := sample()
	// The same config after a JSON round trip (how the store keeps it), with
	// empty lists where the file had none and ACL entries in another order.
	b, _ := json.Marshal(a)
	var back config.Edge
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.ACL.Allow = []string{}
	back.Routes[0].Methods = []string{}
	a.ACL.Deny = append(a.ACL.Deny, "198.51.100.0/24")
	back.ACL.Deny = append([]string{"198.51.100.0/24"}, back.ACL.Deny...)
	if d := edge.Compare(a, back); !d.Empty() || d.Summary() != "no difference" {
		t.Fatalf("want no difference, got %s", d.Summary())
	}
}

func TestCompareNamesEveryChange(t *testing.T) {
	from := sample()
	to := sample()
	to.ACL.Deny = []string{"10.0.0.0/8"}
	to.ACL.Allow = []string{"192.0.2.0/24"}
	to.Limits[0].Burst = 5
	to.Limits = append(to.Limits, config.LimitConfig{Name: "api", Key: "ip", Rate: "1r/s"})
	to.Services[0].Instances = append(to.Services[0].Instances, config.InstanceConfig{Addr: "127.0.0.1:9002"})
	to.Routes = []config.RouteConfig{{Name: "docs", Path: "/docs/", Service: "shop"}}
	d := edge.Compare(from, to)
	want := "acl.allow 192.0.2.0/24 added, acl.deny 10.0.0.0/8 added, acl.deny 203.0.113.0/24 removed, " +
		"limit per_ip changed (burst), limit api added, service shop changed (instances), route docs added, route shop removed"
	if got := d.Summary(); got != want {
		t.Fatalf("summary:\n got %s\nwant %s", got, want)
	}
	text := d.String()
	for _, line := range []string{"+ acl.allow 192.0.2.0/24\n", "- acl.deny 203.0.113.0/24\n", "~ limit per_ip\n", "    burst: 20 -> 5\n",
		"+ limit api\n", "~ service shop\n", "+ route docs\n", "- route shop\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("diff lacks %q:\n%s", line, text)
		}
	}
	// The reverse diff undoes it.
	back := edge.Compare(to, from)
	if !strings.Contains(back.String(), "+ route shop\n") || !strings.Contains(back.String(), "    burst: 5 -> 20\n") {
		t.Fatalf("reverse:\n%s", back)
	}
}

func TestCompareFieldAddedAndRemoved(t *testing.T) {
	from := sample()
	to := sample()
	to.Routes[0].Host = "shop.example.com"
	to.Routes[0].Limits = nil
	d := edge.Compare(from, to)
	if len(d) != 1 || d[0].Op != edge.Changed || len(d[0].Fields) != 2 {
		t.Fatalf("diff: %+v", d)
	}
	text := d.String()
	if !strings.Contains(text, `    host: (none) -> "shop.example.com"`) || !strings.Contains(text, `    limits: ["per_ip"] -> (none)`) {
		t.Fatalf("diff:\n%s", text)
	}
}

func TestCompareRouteOrder(t *testing.T) {
	from := sample()
	from.Routes = append(from.Routes, config.RouteConfig{Name: "api", Path: "/api/", Service: "shop"})
	to := sample()
	to.Routes = append([]config.RouteConfig{{Name: "api", Path: "/api/", Service: "shop"}}, to.Routes...)
	d := edge.Compare(from, to)
	if d.Summary() != "routes reordered" || !strings.Contains(d.String(), "~ routes reordered") {
		t.Fatalf("diff: %s", d.Summary())
	}
}

func TestSummaryIsBounded(t *testing.T) {
	to := config.Edge{}
	for i := 0; i < 25; i++ {
		to.ACL.Deny = append(to.ACL.Deny, fmt.Sprintf("10.0.0.%d/32", i))
	}
	d := edge.Compare(config.Edge{}, to)
	if s := d.Summary(); len(d) != 25 || !strings.HasSuffix(s, ", and 5 more") || strings.Contains(s, "10.0.0.20/32") {
		t.Fatalf("summary of %d: %s", len(d), s)
	}
}

// FuzzCompare feeds arbitrary configs (as the apply endpoint may receive
// them) to Compare: it must not panic, a config compares equal to itself,
// and a non-empty diff renders every entry.
func FuzzCompare(f *testing.F) {
	seed, _ := json.Marshal(sample())
	f.Add(seed, []byte(`{"routes":[{"name":"a","path":"/"},{"name":"a","path":"/b"}],"acl":{"deny":["x","x"]}}`))
	f.Add([]byte(`{"routes":[{"name":"a","path":"/"},{"name":"a","path":"/b"}]}`), []byte(`{"routes":[{"name":"a","path":"/b"}]}`))
	f.Add([]byte(`{}`), []byte(`{"limits":[{"name":""}],"services":[{"name":"s","rooms":{"weights":{"a":1}}}]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var x, y config.Edge
		if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
			return
		}
		if d := edge.Compare(x, x); !d.Empty() {
			t.Fatalf("a config differs from itself: %s", d.Summary())
		}
		d := edge.Compare(x, y)
		if text := d.String(); !d.Empty() && strings.Count(text, "\n") < len(d) {
			t.Fatalf("%d entries, text:\n%s", len(d), text)
		}
		_ = d.Summary()
	})
}
