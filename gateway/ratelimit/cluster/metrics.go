package cluster

import "github.com/wharfhq/wharf/internal/promexp"

// MetricFamilies describes the cluster-wide rate limiter's metric families.
func MetricFamilies() []promexp.Family {
	return []promexp.Family{
		{Name: "wharf_ratelimit_cluster_fallbacks_total", Type: promexp.Counter,
			Help: "Switches from Redis decisions to local ones because Redis failed."},
		{Name: "wharf_ratelimit_cluster_recoveries_total", Type: promexp.Counter,
			Help: "Switches back to Redis decisions after a fallback."},
		{Name: "wharf_ratelimit_cluster_redis_errors_total", Type: promexp.Counter,
			Help: "Redis calls of the limiter that failed or timed out."},
		{Name: "wharf_ratelimit_cluster_decisions_total", Type: promexp.Counter, Labels: []string{"backend"},
			Help: "Rate-limit decisions by where they were made (backend: redis, local)."},
		{Name: "wharf_ratelimit_cluster_mode", Type: promexp.Gauge,
			Help: "1 while decisions are made in Redis (cluster-wide), 0 in local fallback."},
		{Name: "wharf_ratelimit_cluster_nodes", Type: promexp.Gauge,
			Help: "Gateways sharing the cluster-wide limits, as last seen in Redis."},
	}
}
