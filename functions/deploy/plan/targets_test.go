package plan

import (
	"fmt"
	"slices"
	"testing"
)

func TestSelectTargets(t *testing.T) {
	t.Parallel()
	hosts := []Host{
		{ID: "sh-2", Room: "sh", Labels: []string{"gpu"}, Alive: true},
		{ID: "bj-2", Room: "bj", Labels: []string{"gpu", "zone=a"}, Alive: true},
		{ID: "bj-1", Room: "bj", Labels: []string{"zone=a"}, Alive: true},
		{ID: "sh-1", Room: "sh", Alive: true},
		{ID: "bj-3", Room: "bj", Labels: []string{"gpu"}, Alive: false},
		{ID: "gz-1", Room: "gz", Alive: false},
	}
	for _, tt := range []struct {
		name   string
		sel    Targets
		want   []string
		fields []string
	}{
		{"all live, by room then id", Targets{All: true}, []string{"bj-1", "bj-2", "sh-1", "sh-2"}, nil},
		{"room", Targets{Rooms: []string{"sh"}}, []string{"sh-1", "sh-2"}, nil},
		{"rooms", Targets{Rooms: []string{"sh", "bj"}}, []string{"bj-1", "bj-2", "sh-1", "sh-2"}, nil},
		{"label", Targets{Labels: []string{"gpu"}}, []string{"bj-2", "sh-2"}, nil},
		{"all labels", Targets{Labels: []string{"gpu", "zone=a"}}, []string{"bj-2"}, nil},
		{"room and label", Targets{Rooms: []string{"sh"}, Labels: []string{"gpu"}}, []string{"sh-2"}, nil},
		{"hosts", Targets{Hosts: []string{"sh-1", "bj-1"}}, []string{"bj-1", "sh-1"}, nil},
		{"hosts in room", Targets{Rooms: []string{"bj"}, Hosts: []string{"bj-2"}}, []string{"bj-2"}, nil},
		{"unknown host", Targets{Hosts: []string{"bj-1", "xx"}}, nil, []string{"targets.hosts[1]"}},
		{"dead host", Targets{Hosts: []string{"bj-3"}}, nil, []string{"targets.hosts[0]"}},
		{"host outside room", Targets{Rooms: []string{"sh"}, Hosts: []string{"bj-1"}}, nil, []string{"targets.hosts[0]"}},
		{"host lacks label", Targets{Labels: []string{"gpu"}, Hosts: []string{"bj-1"}}, nil, []string{"targets.hosts[0]"}},
		{"empty room", Targets{Rooms: []string{"bj", "gz"}}, nil, []string{"targets.rooms[1]"}},
		{"nothing matches", Targets{Rooms: []string{"bj"}, Labels: []string{"ssd"}}, nil, []string{"targets"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := baseSpec()
			spec.Targets = tt.sel
			got, err := SelectTargets(spec, hosts)
			assertFields(t, err, tt.fields...)
			var ids []string
			for _, tg := range got {
				ids = append(ids, tg.Host)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("selected %v, want %v", ids, tt.want)
			}
			if tt.name == "nothing matches" {
				if msg := err.Error(); msg != `cannot select targets: targets: no live host matches rooms [bj] and labels [ssd]` {
					t.Fatalf("error %q does not name the selector", msg)
				}
			}
		})
	}
	many := make([]Host, MaxTargets+1)
	for i := range many {
		many[i] = Host{ID: fmt.Sprintf("h%d", i), Alive: true}
	}
	_, err := SelectTargets(baseSpec(), many)
	assertFields(t, err, "targets")
}
