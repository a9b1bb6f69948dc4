package fnapi

import (
	"reflect"
	"testing"

	"github.com/wharfhq/wharf/internal/auth"
)

func TestRoutesListsWhatIsRegistered(t *testing.T) {
	t.Parallel()
	h := func(*Request) error { return nil }
	m := NewMux(nil, nil)
	t.Cleanup(m.Close)
	team := Access{Scopes: func(p Params) []string { return []string{auth.ScopeAdmin, "team:" + p.Get("team")} }}
	err := m.Register(testFunction{"f", []Route{
		{Method: "GET", Pattern: "/pub", Access: Public(), Handler: h},
		{Method: "POST", Pattern: "/teams/{team}/x", Access: team, Handler: h},
		{Method: "GET", Pattern: "/any/{id}", Access: AnyToken(), Handler: h},
		{Method: "DELETE", Pattern: "/admin", Access: AdminOnly(), Handler: h},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]RouteInfo{}
	for _, r := range m.Routes() {
		got[r.Method+" "+r.Pattern] = r
	}
	want := map[string]RouteInfo{
		"GET /pub":             {"f", "GET", "/pub", "public"},
		"POST /teams/{team}/x": {"f", "POST", "/teams/{team}/x", "admin | team:{team}"},
		"GET /any/{id}":        {"f", "GET", "/any/{id}", "token"},
		"DELETE /admin":        {"f", "DELETE", "/admin", "admin"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("routes\n got %v\nwant %v", got, want)
	}
}
