package config

import (
	"strings"
	"testing"
	"time"
)

// TestNotifyOptions: the notify keys load from flags, env and file with
// their defaults, and a bad value is refused naming the key.
func TestNotifyOptions(t *testing.T) {
	o, err := load(t, []string{"--notify-retry-budget", "2h"}, []string{"WHARF_NOTIFY_EXTERNAL_URL=https://wharf.example.com"}, "notify:\n  combine_interval: 30s\n")
	if err != nil {
		t.Fatal(err)
	}
	if o.Notify.RetryBudget != 2*time.Hour || o.Notify.CombineInterval != 30*time.Second || o.Notify.ExternalURL != "https://wharf.example.com" {
		t.Fatalf("notify options %+v", o.Notify)
	}
	if d := Defaults().Notify; d.RetryBudget != time.Hour || d.CombineInterval != time.Minute {
		t.Fatalf("defaults %+v", d)
	}
	for args, want := range map[string]string{
		"--notify-retry-budget=0s":               "notify.retry_budget",
		"--notify-combine-interval=1ms":          "notify.combine_interval",
		"--notify-external-url=ftp://x":          "notify.external_url",
		"--notify-external-url=https://u:p@x.io": "notify.external_url",
	} {
		_, err := load(t, []string{args}, nil, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", args, err, want)
		}
	}
}
