package silence

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wharfhq/wharf/monitoring/labels"
)

// FuzzSilenceJSON: any API body decodes or fails cleanly; a silence that
// validates never mutes the empty label set, and checking it never panics.
func FuzzSilenceJSON(f *testing.F) {
	f.Add(`{"matchers":[{"name":"team","value":"shop","isRegex":false}],"startsAt":"2026-03-01T12:00:00Z","endsAt":"2026-03-01T14:00:00Z","createdBy":"a","comment":""}`)
	f.Add(`{"matchers":[null],"startsAt":"2026-03-01T12:00:00Z","endsAt":"2026-03-01T14:00:00Z","createdBy":"a"}`)
	f.Add(`{"matchers":[{"name":"a","value":".*","isRegex":true,"isEqual":false}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var s Silence
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			return
		}
		if len(s.Validate()) > 0 {
			return
		}
		at := s.StartsAt.Add(time.Nanosecond)
		if s.Mutes(labels.Set{}, at) {
			t.Fatalf("valid silence %s mutes everything", s.Matchers)
		}
		_ = Silenced([]Silence{s}, labels.Set{"team": "shop"}, at)
	})
}
