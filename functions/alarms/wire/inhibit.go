package wire

import (
	"time"

	"github.com/wharfhq/wharf/monitoring/silence"
)

// InhibitRules is the value of an InhibitKey: a team's inhibition rules
// as written (Alertmanager's inhibit_rules), versioned like the route
// trees: Version counts from 1 and writers compare-and-swap on it.
type InhibitRules struct {
	Version   int64                       `json:"version"`
	UpdatedBy string                      `json:"updated_by"`
	UpdatedAt time.Time                   `json:"updated_at"`
	Comment   string                      `json:"comment,omitempty"`
	Rules     []silence.InhibitRuleConfig `json:"rules"`
}
