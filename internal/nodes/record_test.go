package nodes

import (
	"strings"
	"testing"
	"time"
)

func validRecord() Record {
	now := time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)
	return Record{
		ID: NewID("web1", "10.0.0.5:9090"), Roles: []string{"gateway"}, Command: "gateway", Version: "dev",
		StartedAt: now, Internal: "http://10.0.0.5:9090", Seen: now,
	}
}

func TestRecordValidate(t *testing.T) {
	t.Parallel()
	if err := validRecord().Validate(); err != nil {
		t.Fatalf("valid record: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Record)
		want string
	}{
		{"empty id", func(r *Record) { r.ID = "" }, "invalid id"},
		{"id with space", func(r *Record) { r.ID = "a b" }, "invalid id"},
		{"id with newline", func(r *Record) { r.ID = "a\nb" }, "invalid id"},
		{"long id", func(r *Record) { r.ID = strings.Repeat("a", 400) }, "invalid id"},
		{"no roles", func(r *Record) { r.Roles = nil }, "roles"},
		{"empty role", func(r *Record) { r.Roles = []string{""} }, "invalid role"},
		{"no command", func(r *Record) { r.Command = "" }, "command"},
		{"no started_at", func(r *Record) { r.StartedAt = time.Time{} }, "started_at"},
		{"no internal", func(r *Record) { r.Internal = "" }, "internal"},
		{"no seen", func(r *Record) { r.Seen = time.Time{} }, "seen"},
	}
	for _, c := range cases {
		r := validRecord()
		c.edit(&r)
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	if got := NewID("web1", "127.0.0.1:9090"); got != "web1@127.0.0.1:9090" {
		t.Fatalf("NewID = %q", got)
	}
	if got := NewID("", "127.0.0.1:9090"); got != "unknown@127.0.0.1:9090" {
		t.Fatalf("NewID without a hostname = %q", got)
	}
	if Key("web1@127.0.0.1:9090") != "nodes/web1@127.0.0.1:9090" {
		t.Fatal("Key")
	}
}
