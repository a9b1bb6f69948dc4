// Package nodes is Wharf's node registry: every Wharf process that has a
// store (serve and the gateway, functions, judge and notify roles)
// announces itself under nodes/<id> with a TTL and refreshes the record
// while it runs, so that `wharf status` and GET /api/v1/nodes can show the
// whole platform. The record is deleted on a graceful shutdown and expires
// after TTL when a process dies.
//
// Record is the pure model (validation, keys); Heartbeat is the loop that
// writes it; List reads the live records.
package nodes

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prefix is the store prefix of the node records.
const Prefix = "nodes/"

// Defaults of the heartbeat: a record lives TTL and is refreshed every
// Interval, so a killed process disappears within TTL; a change of
// readiness is written within Probe.
const (
	DefaultTTL      = 15 * time.Second
	DefaultInterval = 5 * time.Second
	// DefaultProbe is how often readiness is evaluated between refreshes.
	DefaultProbe = time.Second
)

// maxIDLen bounds an id (a hostname of up to 253 bytes, "@", an address).
const maxIDLen = 320

// Record is one running Wharf process as it announces itself.
type Record struct {
	// ID is the hostname and the internal listener's address ("web1@10.0.0.5:9090"):
	// unique while the process runs (the address is bound), the same
	// after a restart on the same address.
	ID string `json:"id"`
	// Roles are what the process plays: "gateway", "functions", "judge",
	// "notify", "agent". Serve plays several.
	Roles []string `json:"roles"`
	// Command is the subcommand that runs it: "serve" or the role's name.
	Command   string    `json:"command"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	// Internal is the URL of the internal listener (/health, /ready, /metrics).
	Internal string `json:"internal"`
	// Gateway and GatewayTLS are the gateway's URLs when the process runs one.
	Gateway    string `json:"gateway,omitempty"`
	GatewayTLS string `json:"gateway_tls,omitempty"`
	// Ready is the process's own /ready; Failing names the checks that fail.
	Ready   bool     `json:"ready"`
	Failing []string `json:"failing,omitempty"`
	// Seen is the time of the last heartbeat.
	Seen time.Time `json:"seen"`
}

// NewID is the id of the process on host whose internal listener is
// bound to addr.
func NewID(host, addr string) string {
	if host == "" {
		host = "unknown"
	}
	return host + "@" + addr
}

// Key is the store key of the record with id.
func Key(id string) string { return Prefix + id }

// Validate reports the first field that makes r unusable, naming it.
func (r Record) Validate() error {
	switch {
	case r.ID == "" || len(r.ID) > maxIDLen || strings.ContainsFunc(r.ID, badIDRune):
		return fmt.Errorf("invalid id %q: 1-%d printable characters without spaces", r.ID, maxIDLen)
	case len(r.Roles) == 0:
		return errors.New("roles: at least one role is required")
	case r.Command == "":
		return errors.New("command is required")
	case r.StartedAt.IsZero():
		return errors.New("started_at is required")
	case r.Internal == "":
		return errors.New("internal is required")
	case r.Seen.IsZero():
		return errors.New("seen is required")
	}
	for _, role := range r.Roles {
		if role == "" || strings.ContainsFunc(role, badIDRune) {
			return fmt.Errorf("roles: invalid role %q", role)
		}
	}
	return nil
}

func badIDRune(c rune) bool { return c <= ' ' || c == 0x7f }
