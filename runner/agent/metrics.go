package agent

import "github.com/wharfhq/wharf/internal/promexp"

// MetricFamilies describes the deploy agent's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_agent_tasks_verified_total", Type: promexp.Counter,
			Help: "Deploy task messages whose signature, host, validity window and nonce checked out."},
		{Name: "wharf_agent_tasks_refused_total", Type: promexp.Counter, Labels: []string{"reason"},
			Help: "Deploy task messages refused (reason: malformed, unsigned, unknown_key, bad_signature, wrong_host, expired, replayed)."},
		{Name: "wharf_agent_log_lines_shipped_total", Type: promexp.Counter,
			Help: "App output lines the agent shipped to the API."},
		{Name: "wharf_agent_log_lines_dropped_total", Type: promexp.Counter,
			Help: "App output lines dropped because the agent's queue was full or the API refused them."},
	}
}
