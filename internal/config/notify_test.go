package config

import (
	"strings"
	"testing"
	"time"
)

// TestNotifyOptions: the notify keys load from flags, env and file with
// their defaults, and a bad value is refused naming the key.
func TestNotifyOptions(t *testing.T) {
	o, err := load(t, []string{"--notify-retry-budget", "2h", "--notify-retry-max", "30s", "--notify-allow-receiver-networks", "10.20.0.0/16,127.0.0.1"}, []string{"WHARF_NOTIFY_EXTERNAL_URL=https://wharf.example.com"}, "notify:\n  combine_interval: 30s\n")
	if err != nil {
		t.Fatal(err)
	}
	if a := o.Notify.AllowReceiverNetworks; len(a) != 2 || a[0] != "10.20.0.0/16" || a[1] != "127.0.0.1" {
		t.Fatalf("allow_receiver_networks %q", a)
	}
	if o.Notify.RetryMax != 30*time.Second {
		t.Fatalf("retry_max %s", o.Notify.RetryMax)
	}
	if o.Notify.RetryBudget != 2*time.Hour || o.Notify.CombineInterval != 30*time.Second || o.Notify.ExternalURL != "https://wharf.example.com" {
		t.Fatalf("notify options %+v", o.Notify)
	}
	if d := Defaults().Notify; d.RetryBudget != time.Hour || d.RetryMax != 5*time.Minute || d.CombineInterval != time.Minute {
		t.Fatalf("defaults %+v", d)
	}
	for args, want := range map[string]string{
		"--notify-retry-budget=0s":                             "notify.retry_budget",
		"--notify-retry-max=100ms":                             "notify.retry_max",
		"--notify-retry-max=25h":                               "notify.retry_max",
		"--notify-combine-interval=1ms":                        "notify.combine_interval",
		"--notify-external-url=ftp://x":                        "notify.external_url",
		"--notify-external-url=https://u:p@x.io":               "notify.external_url",
		"--notify-allow-receiver-networks=10.0.0.0/8,intranet": "notify.allow_receiver_networks",
	} {
		_, err := load(t, []string{args}, nil, "")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", args, err, want)
		}
	}
}
