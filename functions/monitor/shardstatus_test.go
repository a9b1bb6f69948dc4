package monitor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/store"
)

// TestShardStatus: the leases and members the judges and the series
// writers keep in the store, every shard listed with its owner or as
// unowned; admin only.
func TestShardStatus(t *testing.T) {
	s := newServer(t, serverOptions{noSeries: true, fn: monitor.Options{Shards: 4}})
	ctx := context.Background()
	ttl := store.PutOptions{TTL: time.Minute}
	put := func(key, val string) {
		t.Helper()
		if _, err := s.st.Put(ctx, key, []byte(val), ttl); err != nil {
			t.Fatal(err)
		}
	}
	const path = "/api/v1/monitoring/shards"
	for who, want := range map[string]int{"": 401, "team": 403, "other": 403, "agent": 403, "ingest": 403, "admin": 200} {
		if r := s.do(t, "GET", path, who, ""); r.Status != want {
			t.Errorf("as %q: %d, want %d: %s", who, r.Status, want, r.Body)
		}
	}
	// No judge yet: every shard unowned.
	rep := decode[monitor.ShardsReply](t, s.do(t, "GET", path, "admin", ""))
	if len(rep.Roles) != 2 || rep.Roles[0].Role != "judge" || rep.Roles[1].Role != "series" {
		t.Fatalf("roles: %+v", rep)
	}
	for _, rs := range rep.Roles {
		if len(rs.Leases) != 4 || len(rs.Unowned) != 4 || len(rs.Members) != 0 {
			t.Fatalf("nobody holds shards yet: %+v", rs)
		}
	}
	put(wire.JudgeMemberPrefix+"j-a", "j-a")
	put(wire.JudgeMemberPrefix+"j-b", "j-b")
	put(wire.JudgeLeasePrefix+"0", "j-a")
	put(wire.JudgeLeasePrefix+"1", "j-b")
	put(wire.JudgeLeasePrefix+"3", "j-a")
	put(wire.JudgeLeasePrefix+"9", "j-b") // another shard count's: not shown
	put(wire.JudgeLeasePrefix+"x", "j-b") // not a shard
	// The series writers' records hold their SeriesOwner as JSON.
	put(wire.SeriesMemberPrefix+"w-1", `{"node":"w-1","url":"http://10.0.0.1:8080"}`)
	put(wire.SeriesLeasePrefix+"0", `{"node":"w-1","url":"http://10.0.0.1:8080"}`)
	put(wire.SeriesLeasePrefix+"2", `{"node":"w-1","url":"http://10.0.0.1:8080"}`)
	put(wire.SeriesLeasePrefix+"3", `not json`) // shown as it is
	r := s.do(t, "GET", path, "admin", "")
	rep = decode[monitor.ShardsReply](t, r)
	js := rep.Roles[0]
	var owners []string
	for _, l := range js.Leases {
		owners = append(owners, l.Owner)
	}
	if want := []string{"j-a", "j-b", "", "j-a"}; !slices.Equal(owners, want) {
		t.Fatalf("owners %q, want %q: %s", owners, want, r.Body)
	}
	if len(js.Unowned) != 1 || js.Unowned[0] != 2 || js.Leases[2].ExpiresAt != nil {
		t.Fatalf("unowned %v: %s", js.Unowned, r.Body)
	}
	exp := js.Leases[0].ExpiresAt
	if exp == nil || exp.Before(rep.Time) || exp.After(rep.Time.Add(time.Minute+time.Second)) {
		t.Fatalf("lease expiry %v at %v", exp, rep.Time)
	}
	if len(js.Members) != 2 || js.Members[0].Node != "j-a" || js.Members[0].Shards != 2 || js.Members[1].Shards != 1 || js.Members[0].ExpiresAt == nil {
		t.Fatalf("members %+v", js.Members)
	}
	ws := rep.Roles[1]
	owners = owners[:0]
	for _, l := range ws.Leases {
		owners = append(owners, l.Owner)
	}
	if want := []string{"w-1", "", "w-1", "not json"}; !slices.Equal(owners, want) || !slices.Equal(ws.Unowned, []int{1}) {
		t.Fatalf("series owners %q unowned %v, want %q: %s", owners, ws.Unowned, want, r.Body)
	}
	if len(ws.Members) != 1 || ws.Members[0].Node != "w-1" || ws.Members[0].Shards != 2 {
		t.Fatalf("series members %+v", ws.Members)
	}
}
