package config

import (
	"strings"
	"testing"
)

func TestParseFreeDisk(t *testing.T) {
	for _, c := range []struct {
		in      string
		bytes   uint64
		percent float64
	}{
		{"1GiB", 1 << 30, 0}, {"512MiB", 512 << 20, 0}, {"2GB", 2e9, 0}, {"1048576", 1 << 20, 0},
		{"1.5g", 3 << 29, 0}, {" 5% ", 0, 5}, {"0.5%", 0, 0.5}, {"0", 0, 0}, {"0%", 0, 0}, {"10 KiB", 10 << 10, 0},
	} {
		b, p, err := ParseFreeDisk(c.in)
		if err != nil || b != c.bytes || p != c.percent {
			t.Errorf("%q: %d %v %v, want %d %v", c.in, b, p, err, c.bytes, c.percent)
		}
	}
	for _, in := range []string{"", "lots", "-1GiB", "100%", "-5%", "1PiB%", "1e30", "5 percent"} {
		if _, _, err := ParseFreeDisk(in); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
	o := defaultMonitoring()
	o.MinFreeDisk = "plenty"
	if err := o.validate(); err == nil || !strings.Contains(err.Error(), "monitoring.min_free_disk: want a size") {
		t.Fatalf("validate: %v", err)
	}
}
