package bus

import (
	"strings"
	"testing"
)

func TestValidateTopic(t *testing.T) {
	good := []string{"a", "deploy.events", "metrics_0-1", "x#ephemeral", strings.Repeat("a", 64)}
	for _, n := range good {
		if err := ValidateTopic(n); err != nil {
			t.Errorf("ValidateTopic(%q) = %v, want nil", n, err)
		}
	}
	bad := []string{"", "#ephemeral", "a b", "a/b", "topic:1", "é", strings.Repeat("a", 65), "a#ephemeral#ephemeral"}
	for _, n := range bad {
		err := ValidateTopic(n)
		if err == nil {
			t.Errorf("ValidateTopic(%q) = nil, want error", n)
			continue
		}
		if !strings.Contains(err.Error(), "invalid topic name") {
			t.Errorf("ValidateTopic(%q) error %q does not say what is wrong", n, err)
		}
	}
	if err := ValidateChannel("a b"); err == nil || !strings.Contains(err.Error(), "invalid channel name") {
		t.Errorf("ValidateChannel: %v", err)
	}
}

func TestDeadLetterTopic(t *testing.T) {
	if got := DeadLetterTopic("orders"); got != "orders.dead" {
		t.Errorf("got %q", got)
	}
	if got := DeadLetterTopic("orders#ephemeral"); got != "orders.dead#ephemeral" {
		t.Errorf("got %q", got)
	}
}

func FuzzValidateTopic(f *testing.F) {
	for _, s := range []string{"a", "a#ephemeral", "", "a.b-c_d", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateTopic(s) != nil {
			return
		}
		if len(s) == 0 || len(s) > 64 {
			t.Fatalf("accepted %q", s)
		}
		base := strings.TrimSuffix(s, "#ephemeral")
		if strings.Trim(base, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			t.Fatalf("accepted %q", s)
		}
	})
}
