package model

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Buckets is the number of hash buckets a percentage rule splits clients
// into: percentages have a resolution of 0.01.
const Buckets = 10000

// MaxRuleEntries bounds the IPs and labels of a rule.
const MaxRuleEntries = 1000

// Rules select the clients that read a gray release: those whose bucket
// lies below Percent, those whose IP is listed ("*" lists every IP) and
// those whose label is listed.
type Rules struct {
	// Percent is 0–100 of clients by the hash of their identity.
	Percent float64  `json:"percent"`
	IPs     []string `json:"ips,omitempty"`
	Labels  []string `json:"labels,omitempty"`
}

// Client is who asks for a configuration: its instance id (Wharf's clients
// send it), else its IP is the identity a percentage hashes.
type Client struct {
	ID    string
	IP    string
	Label string
}

// Identity is the stable identity the percentage hashes: the instance id,
// else the IP; "" when the client sent neither.
func (c Client) Identity() string {
	if c.ID != "" {
		return c.ID
	}
	return c.IP
}

// Validate names every invalid field of r.
func (r Rules) Validate() fielderr.List {
	var l fielderr.List
	if math.IsNaN(r.Percent) || r.Percent < 0 || r.Percent > 100 {
		l.Add("percent", fmt.Sprintf("must be 0 to 100, got %v", r.Percent))
	}
	if len(r.IPs) > MaxRuleEntries {
		l.Add("ips", fmt.Sprintf("%d entries, at most %d", len(r.IPs), MaxRuleEntries))
	}
	if len(r.Labels) > MaxRuleEntries {
		l.Add("labels", fmt.Sprintf("%d entries, at most %d", len(r.Labels), MaxRuleEntries))
	}
	for i, ip := range r.IPs {
		if ip == "*" {
			continue
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			l.Add(fmt.Sprintf("ips[%d]", i), fmt.Sprintf("%q is not an IP address (or * for all)", ip))
		}
	}
	for i, lb := range r.Labels {
		if err := ValidName("label", lb); err != nil {
			l.Add(fmt.Sprintf("labels[%d]", i), err.Error())
		}
	}
	return l
}

// Threshold is the number of buckets Percent covers.
func (r Rules) Threshold() int {
	return int(math.Round(r.Percent * Buckets / 100))
}

// Bucket is the bucket (0 to Buckets-1) of identity under salt: the first
// four bytes of SHA-1(salt, NUL, identity) modulo Buckets. A client keeps
// its bucket while the salt stays, so a ramp from 5 % to 20 % keeps every
// client that was in.
func Bucket(salt, identity string) int {
	h := sha1.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(identity))
	return int(binary.BigEndian.Uint32(h.Sum(nil)[:4]) % Buckets)
}

// Matches reports whether c reads the gray release under r; salt is the
// gray branch's salt (GraySalt).
func (r Rules) Matches(salt string, c Client) bool {
	if c.IP != "" && (slices.Contains(r.IPs, "*") || slices.Contains(r.IPs, normalizeIP(c.IP))) {
		return true
	}
	if c.Label != "" && slices.Contains(r.Labels, c.Label) {
		return true
	}
	id := c.Identity()
	return id != "" && Bucket(salt, id) < r.Threshold()
}

// Normalize returns r with its IPs in canonical form.
func (r Rules) Normalize() Rules {
	out := r
	out.IPs = make([]string, len(r.IPs))
	for i, ip := range r.IPs {
		out.IPs[i] = normalizeIP(ip)
	}
	if len(out.IPs) == 0 {
		out.IPs = nil
	}
	return out
}

func normalizeIP(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

// GraySalt is the salt of a namespace's gray percentages.
func GraySalt(app, cluster, ns string) string { return app + "/" + cluster + "/" + ns }
