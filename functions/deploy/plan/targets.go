package plan

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Host is one app host as the caller knows it from the agent registry.
type Host struct {
	// ID is the host's (agent's) id; tasks go to NSQ deploy.host.<ID>.
	ID   string
	Room string
	// Labels are the host's labels; targets.labels needs all of them.
	Labels []string
	// Alive is whether the host's agent is heartbeating.
	Alive bool
}

// Target is one host a deploy moves to the new version.
type Target struct {
	Host string `json:"host"`
	Room string `json:"room,omitempty"`
}

// SelectTargets picks the hosts spec.Targets selects, sorted by room then
// id. A host must match every selector given: be in one of targets.rooms,
// have all of targets.labels, be one of targets.hosts; targets.all takes
// every host.
//
// Hosts that are not alive are left out when they are selected by
// all, rooms or labels: a deploy does not wait for a dead host (its agent
// catches up with the app's current version when it comes back, which is
// the agent's business). A host named in targets.hosts must exist, be
// alive and match the other selectors; so must every named room have a
// live host. Those errors are *FieldErrors naming the selector entry
// ("targets.hosts[1]"); nothing selected at all is a *FieldError on
// "targets".
func SelectTargets(spec Spec, hosts []Host) ([]Target, error) {
	sel := spec.Targets
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	byID := make(map[string]*Host, len(hosts))
	for i := range hosts {
		byID[hosts[i].ID] = &hosts[i]
	}
	inRooms := func(h *Host) bool { return len(sel.Rooms) == 0 || slices.Contains(sel.Rooms, h.Room) }
	hasLabels := func(h *Host) bool {
		for _, l := range sel.Labels {
			if !slices.Contains(h.Labels, l) {
				return false
			}
		}
		return true
	}
	named := func(h *Host) bool { return len(sel.Hosts) == 0 || slices.Contains(sel.Hosts, h.ID) }

	for i, id := range sel.Hosts {
		field := fmt.Sprintf("targets.hosts[%d]", i)
		switch h := byID[id]; {
		case h == nil:
			bad(field, "no host %q", id)
		case !h.Alive:
			bad(field, "host %q is not alive", id)
		case !inRooms(h):
			bad(field, "host %q is in room %q, not in targets.rooms", id, h.Room)
		case !hasLabels(h):
			bad(field, "host %q lacks some of targets.labels", id)
		}
	}
	for i, room := range sel.Rooms {
		if !slices.ContainsFunc(hosts, func(h Host) bool { return h.Alive && h.Room == room }) {
			bad(fmt.Sprintf("targets.rooms[%d]", i), "no live host in room %q", room)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("cannot select targets: %w", errors.Join(errs...))
	}

	var out []Target
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		if !h.Alive || seen[h.ID] || !(sel.All || inRooms(&h) && hasLabels(&h) && named(&h)) {
			continue
		}
		seen[h.ID] = true
		out = append(out, Target{Host: h.ID, Room: h.Room})
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("cannot select targets: %w", &FieldError{Field: "targets", Msg: "no live host matches " + describe(sel)})
	case len(out) > MaxTargets:
		return nil, fmt.Errorf("cannot select targets: %w", &FieldError{Field: "targets", Msg: fmt.Sprintf("%d hosts match %s, at most %d per deploy", len(out), describe(sel), MaxTargets)})
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.Room, b.Room), cmp.Compare(a.Host, b.Host))
	})
	return out, nil
}

// describe renders a selector for errors: "rooms [bj] and labels [gpu]".
func describe(t Targets) string {
	if t.All {
		return "all: true"
	}
	var parts []string
	for _, l := range []struct {
		name  string
		items []string
	}{{"rooms", t.Rooms}, {"labels", t.Labels}, {"hosts", t.Hosts}} {
		if len(l.items) > 0 {
			parts = append(parts, l.name+" ["+strings.Join(l.items, ", ")+"]")
		}
	}
	if len(parts) == 0 {
		return "no selector"
	}
	return strings.Join(parts, " and ")
}
